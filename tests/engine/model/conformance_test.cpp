// Every model of the conformance pack against its references (README §5.2), for both kinds of
// arithmetic and three ways of batching (conformance_run.h): models/ (listed in models.json) and
// the further architectures of arch/ (every .gguf there, with the tolerance its reference states).
#include <gtest/gtest.h>

#include <algorithm>

#include "conformance_run.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::model::test {
namespace {

namespace fs = std::filesystem;

struct Param {
  std::string folder;  // "models" or "arch"
  std::string model;   // file name, e.g. "llama-gqa-f32.gguf"
  RunMode mode;
};

// What gtest (and so ctest's test names) shows for a parameter: stable, unlike raw bytes.
void PrintTo(const Param& p, std::ostream* os) {
  *os << p.model << " " << mode_name(p.mode) << " " << batching_name(p.mode.batching);
}

std::vector<Param> params_for(const std::string& folder, const std::vector<std::string>& models) {
  std::vector<Param> out;
  for (const std::string& m : models)
    for (const RunMode& mode : all_modes()) out.push_back({folder, m, mode});
  return out;
}

std::vector<Param> all_params() {
  std::vector<std::string> models;
  if (auto dir = hearth::test::conformance_dir()) {
    const auto list = *dir / "models" / "models.json";
    if (std::filesystem::exists(list)) {
      const auto j = hearth::test::json_from(hearth::test::read_file(list));
      for (const auto& m : j.as_object().at("models").as_array())
        models.push_back(boost::json::value_to<std::string>(m.as_object().at("file")));
    }
  }
  if (models.empty()) models.push_back("none");  // the test then skips
  return params_for("models", models);
}

std::vector<Param> arch_params() {
  std::vector<std::string> models;
  if (auto dir = hearth::test::conformance_dir(); dir && fs::is_directory(*dir / "arch"))
    for (const fs::directory_entry& e : fs::directory_iterator(*dir / "arch"))
      if (e.path().extension() == ".gguf") models.push_back(e.path().filename().string());
  std::sort(models.begin(), models.end());
  if (models.empty()) models.push_back("none");  // the test then skips
  return params_for("arch", models);
}

std::string param_name(const testing::TestParamInfo<Param>& info) {
  return identifier(info.param.model.substr(0, info.param.model.find(".gguf")) + "_" +
                    mode_name(info.param.mode) + "_" + batching_name(info.param.mode.batching));
}

class ModelConformance : public testing::TestWithParam<Param> {};

TEST_P(ModelConformance, MatchesReference) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const Param& p = GetParam();
  const fs::path models_dir = dir / p.folder;
  run_conformance({models_dir / p.model, models_dir, fs::path(p.model).stem().string(), {}, p.mode});
}

INSTANTIATE_TEST_SUITE_P(Models, ModelConformance, testing::ValuesIn(all_params()), param_name);
INSTANTIATE_TEST_SUITE_P(Arch, ModelConformance, testing::ValuesIn(arch_params()), param_name);

}  // namespace
}  // namespace hearth::model::test
