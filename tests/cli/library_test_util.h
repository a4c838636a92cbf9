// Shared pieces of the model library's CLI tests (pull_test.cpp, library_test.cpp): a temporary
// HEARTH_HOME, a loopback HTTP server for files made by the test, a database URL per backend, and
// the real hearth binary run with that environment.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/sha256.h"
#include "db/db.h"
#include "db/db_test_support.h"
#include "engine/gguf/gguf.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::test {

using Env = std::vector<std::pair<std::string, std::string>>;

inline std::vector<std::string> dir_names(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The blobs under `dir` (sha256-<hex> files; partial-download files left out).
inline std::vector<std::string> blob_names(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (auto& name : dir_names(dir))
    if (name.find("-partial") == std::string::npos && name.rfind("sha256-", 0) == 0)
      out.push_back(name);
  return out;
}

// A GGUF file that is no model: one F32 tensor of `floats` values (loads as GGUF, not as a model).
inline void write_plain_gguf(const std::filesystem::path& path, size_t floats) {
  std::vector<float> values(floats, 0.5f);
  gguf::Writer writer;
  writer.set("general.architecture", gguf::Value::of_string("llama"));
  writer.add_tensor(
      "weights", gguf::TensorType::f32, {static_cast<int64_t>(values.size())},
      std::span(reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)));
  std::filesystem::create_directories(path.parent_path());
  writer.write(path);
}

class LibraryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(served());
    server = std::make_unique<HttpFileServer>(served());
    db_url = "sqlite://" + (temp.path() / "hearth-test.db").string();
  }

  std::filesystem::path home() const { return temp.path() / "home"; }
  std::filesystem::path served() const { return temp.path() / "served"; }
  std::filesystem::path blobs() const { return home() / "blobs"; }
  std::string endpoint() const {
    std::string u = server->url("");
    while (!u.empty() && u.back() == '/') u.pop_back();
    return u;
  }

  Env env() const {
    return {{"HEARTH_HOME", home().string()},
            {"HEARTH_DB", db_url},
            {"HEARTH_HF_ENDPOINT", endpoint()},
            {"HEARTH_HOST", "127.0.0.1:1"},
            {"HEARTH_THREADS", "1"},
            {"HEARTH_LOG", "warn"}};
  }
  CommandResult hearth(const std::vector<std::string>& args) const {
    return run_hearth(args, env());
  }

  // A tiny random-weight model (hearth synth) at `path`; returns its sha256 hex.
  std::string synth_tiny(const std::filesystem::path& path, const std::string& type = "Q8_0",
                         int seed = 1) const {
    std::filesystem::create_directories(path.parent_path());
    auto r = run_hearth({"synth", "--shape", "tiny", "--type", type, "--seed", std::to_string(seed),
                         "-o", path.string(), "--force"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return sha256_file_hex(path);
  }

  // Writes HEARTH_HOME/catalog.json with one model whose single variant is served here.
  void write_user_catalog(const std::string& id, const std::string& repo, const std::string& file,
                          uint64_t size_bytes, const std::string& sha256, int ram_gb = 1,
                          int disk_gb = 0) const {
    json::object variant = {{"tag", "q8_0"},
                            {"quantization", "Q8_0"},
                            {"repo", repo},
                            {"file", file},
                            {"size_bytes", size_bytes}};
    if (!sha256.empty()) variant["sha256"] = sha256;
    const json::object model = {
        {"id", id},
        {"name", "Test " + id},
        {"description", "a model served by the test"},
        {"architecture", "llama"},
        {"parameters", 1440000},
        {"context_length", 4096},
        {"layers", 2},
        {"heads", 4},
        {"kv_heads", 2},
        {"head_dim", 64},
        {"requirements", {{"ram_gb", ram_gb}, {"disk_gb", disk_gb}, {"gpu", "none"}}},
        {"default_tag", "q8_0"},
        {"variants", json::array{variant}}};
    std::filesystem::create_directories(home());
    std::ofstream(home() / "catalog.json")
        << format_json(json::object{{"version", 1}, {"models", json::array{model}}}, 2);
  }

  // The database row of an installed name, through the db module.
  std::optional<db::PersonalModel> row(const std::string& full_name) const {
    db::Database database = db::Database::open(db_url);
    auto user = db::Users(database).find_by_name("local");
    if (!user) return std::nullopt;
    return db::PersonalModels(database).find_by_name(user->id, full_name);
  }

  TempDir temp;
  std::unique_ptr<HttpFileServer> server;
  std::string db_url;
};

}  // namespace hearth::test
