// Runs the real `hearth hw` and `hearth catalog` binaries on this machine.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "support/test_support.h"

namespace hearth {
namespace {

using nlohmann::json;
using test::CommandResult;

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

const json* find_model(const json& catalog, const std::string& id) {
  for (const auto& m : catalog["models"])
    if (m["id"] == id) return &m;
  return nullptr;
}

TEST(HwCommand, JsonDescribesThisMachine) {
  const CommandResult run = test::run_hearth({"hw", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json j = json::parse(run.out);
  EXPECT_GT(j["logical_cores"].get<int>(), 0);
  EXPECT_GT(j["physical_cores"].get<int>(), 0);
  EXPECT_GT(j["ram_total_bytes"].get<uint64_t>(), 0u);
  EXPECT_TRUE(j["gpus"].is_array());
  EXPECT_FALSE(j["os"].get<std::string>().empty());
}

TEST(HwCommand, TextNamesEachPart) {
  const CommandResult run = test::run_hearth({"hw"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  for (const char* label : {"CPU", "Cores", "SIMD", "RAM", "Disk", "OS", "GPUs"})
    EXPECT_NE(run.out.find(label), std::string::npos) << label << "\n" << run.out;
}

TEST(CatalogCommand, JsonListsTheModelsWithVerdicts) {
  const CommandResult run = test::run_hearth({"catalog", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json j = json::parse(run.out);
  ASSERT_GE(j["models"].size(), 6u);
  for (const char* id : {"code-agent-pro", "reasoning-master", "code-specialist", "fast-assistant",
                         "creative-writer", "research-assistant"}) {
    const json* m = find_model(j, id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_FALSE((*m)["reasons"].empty()) << id;
    EXPECT_GT((*m)["size_bytes"].get<uint64_t>(), 0u) << id;
  }
  // This machine: the models that need 64 GB of RAM and a big GPU do not fit, with reasons.
  const uint64_t ram = j["machine"]["ram_total_bytes"].get<uint64_t>();
  const uint64_t gib = uint64_t{1} << 30;
  if (ram >= 57 * gib) GTEST_SKIP() << "this machine has 64 GB of RAM; the big models may fit";
  for (const char* id : {"code-specialist", "creative-writer"}) {
    const json& m = *find_model(j, id);
    EXPECT_EQ(m["verdict"], "will_not_fit") << id;
    EXPECT_NE(m["reasons"].dump().find("catalog minimum"), std::string::npos) << m["reasons"];
  }
  // Something fits and is recommended.
  bool recommended = false;
  for (const auto& r : j["recommendations"]) recommended = recommended || !r["model"].is_null();
  EXPECT_TRUE(recommended) << j["recommendations"];
}

TEST(CatalogCommand, FitsOnlyLeavesOutModelsThatDoNotFit) {
  const CommandResult run = test::run_hearth({"catalog", "--fits", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json j = json::parse(run.out);
  for (const auto& m : j["models"]) EXPECT_NE(m["verdict"], "will_not_fit") << m["id"];
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
  const json listing = json::parse(run.out);
  const json* mine = find_model(listing, "my-tiny-model");
  ASSERT_NE(mine, nullptr);
  EXPECT_NE((*mine)["verdict"], "will_not_fit");

  std::ofstream(home.path() / "catalog.json") << R"({"models": [{"id": 5}]})";
  run = test::run_hearth({"catalog"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find((home.path() / "catalog.json").string()), std::string::npos) << run.err;
}

}  // namespace
}  // namespace hearth
