// The generation layer is the only way to run a model: outside engine/ no file in src/ names the
// sampler, the decode Context or its batches (engine/generate/runner.h). A new caller that
// reaches past the layer fails here, with the file and the line.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include "support/test_support.h"

namespace hearth::test {
namespace {

TEST(GenerationLayer, NothingOutsideTheEngineSamplesOrDecodesDirectly) {
  const auto src = source_dir() / "src";
  ASSERT_TRUE(std::filesystem::is_directory(src)) << src;
  // The sampler class (its settings struct is plain data and may travel), the Context that
  // decodes, its batch entries and logits.
  const std::regex forbidden(
      R"(sampler::(Sampler\b|StopStrings)|model::(Context|BatchEntry|Logits)\b|\bctx_?(->|\.)decode\()");
  int files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(src)) {
    const auto& path = entry.path();
    if (!entry.is_regular_file()) continue;
    if (path.extension() != ".cpp" && path.extension() != ".h") continue;
    const auto relative = std::filesystem::relative(path, src).generic_string();
    if (relative.rfind("engine/", 0) == 0) continue;
    ++files;
    std::ifstream in(path);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n)
      EXPECT_FALSE(std::regex_search(line, forbidden))
          << "src/" << relative << ":" << n << " reaches past engine/generate: " << line;
  }
  EXPECT_GT(files, 50) << "the source tree was not found where expected";
}

}  // namespace
}  // namespace hearth::test
