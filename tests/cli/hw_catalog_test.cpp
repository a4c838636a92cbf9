// Runs the real `hearth hw` and `hearth catalog` binaries on this machine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <optional>

#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace json = boost::json;
using test::CommandResult;
using test::json_from;

// Sets an environment variable for the hearth processes this test starts; restores it after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

const json::value* find_model(const json::value& catalog, const std::string& id) {
  for (const auto& m : catalog.at("models").as_array())
    if (m.at("id") == json::value(id)) return &m;
  return nullptr;
}

TEST(HwCommand, JsonDescribesThisMachine) {
  const CommandResult run = test::run_hearth({"hw", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json::value j = json_from(run.out);
  EXPECT_GT(j.at("logical_cores").to_number<int>(), 0);
  EXPECT_GT(j.at("physical_cores").to_number<int>(), 0);
  EXPECT_GT(j.at("ram_total_bytes").to_number<uint64_t>(), 0u);
  EXPECT_TRUE(j.at("gpus").is_array());
  EXPECT_FALSE(j.at("os").as_string().empty());
#if defined(__x86_64__)
  // The CPU's family from CPUID, named by the microarchitecture table ("unknown" is an answer).
  const json::value& id = j.at("cpuid");
  EXPECT_FALSE(id.at("vendor").as_string().empty());
  EXPECT_GT(id.at("family").to_number<int>(), 0);
  EXPECT_FALSE(id.at("microarchitecture").as_string().empty());
  EXPECT_TRUE(id.at("description").as_string().ends_with(")")) << run.out;
#endif
}

TEST(HwCommand, TextNamesEachPart) {
  const CommandResult run = test::run_hearth({"hw"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* label : {"CPU", "Cores", "SIMD", "RAM", "Disk", "OS", "GPUs"})
    EXPECT_NE(run.out.find(label), std::string::npos) << label << "\n" << run.out;
#if defined(__x86_64__)
  EXPECT_NE(run.out.find(" family "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(", model "), std::string::npos) << run.out;
#endif
}

TEST(CatalogCommand, JsonListsTheModelsWithVerdicts) {
  const CommandResult run = test::run_hearth({"catalog", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json::value j = json_from(run.out);
  ASSERT_GE(j.at("models").as_array().size(), 6u);
  for (const char* id : {"code-agent-pro", "reasoning-master", "code-specialist", "fast-assistant",
                         "creative-writer", "research-assistant"}) {
    const json::value* m = find_model(j, id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_FALSE(m->at("reasons").as_array().empty()) << id;
    EXPECT_GT(m->at("size_bytes").to_number<uint64_t>(), 0u) << id;
  }
  // This machine: the models that need 64 GB of RAM and a big GPU do not fit, with reasons.
  const uint64_t ram = j.at("machine").at("ram_total_bytes").to_number<uint64_t>();
  const uint64_t gib = uint64_t{1} << 30;
  if (ram >= 57 * gib) GTEST_SKIP() << "this machine has 64 GB of RAM; the big models may fit";
  for (const char* id : {"code-specialist", "creative-writer"}) {
    const json::value& m = *find_model(j, id);
    EXPECT_EQ(m.at("verdict"), "will_not_fit") << id;
    EXPECT_NE(format_json(m.at("reasons")).find("catalog minimum"), std::string::npos)
        << m.at("reasons");
  }
  // Something fits and is recommended.
  bool recommended = false;
  for (const auto& r : j.at("recommendations").as_array())
    recommended = recommended || !r.at("model").is_null();
  EXPECT_TRUE(recommended) << j.at("recommendations");
}

TEST(CatalogCommand, FitsOnlyLeavesOutModelsThatDoNotFit) {
  const CommandResult run = test::run_hearth({"catalog", "--fits", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json::value j = json_from(run.out);
  for (const auto& m : j.at("models").as_array())
    EXPECT_NE(m.at("verdict"), "will_not_fit") << m.at("id");
}

TEST(CatalogCommand, TextShowsVerdictsAndRecommendations) {
  const CommandResult run = test::run_hearth({"catalog"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("reasoning-master"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("Recommended"), std::string::npos) << run.out;
}

TEST(CatalogCommand, UserCatalogAddsModelsAndABrokenOneIsNamed) {
  test::TempDir home;
  ScopedEnv env("HEARTH_HOME", home.path().string());
  std::ofstream(home.path() / "catalog.json") << R"({"version": 1, "models": [
    {"id": "my-tiny-model", "context_length": 2048, "layers": 4, "kv_heads": 1, "head_dim": 64,
     "use_cases": ["testing"],
     "variants": [{"tag": "q8_0", "repo": "me/tiny", "file": "tiny.gguf", "size_bytes": 1000000}]}
  ]})";
  CommandResult run = test::run_hearth({"catalog", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json::value listing = json_from(run.out);
  const json::value* mine = find_model(listing, "my-tiny-model");
  ASSERT_NE(mine, nullptr);
  EXPECT_NE(mine->at("verdict"), "will_not_fit");

  std::ofstream(home.path() / "catalog.json") << R"({"models": [{"id": 5}]})";
  run = test::run_hearth({"catalog"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find((home.path() / "catalog.json").string()), std::string::npos) << run.err;
}

}  // namespace
}  // namespace hearth
