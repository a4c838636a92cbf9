// Shared pieces of the library's tests (library/library_test.cpp, server/routes_library_test.cpp):
// a temporary HEARTH_HOME with its store and SQLite database, a loopback HTTP server for model
// files, tiny runnable models and GGUF files that are no model.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.h"
#include "db/db.h"
#include "engine/gguf/gguf.h"
#include "engine/quantize/synth.h"
#include "library/library.h"
#include "store/http_file_server.h"
#include "store/store.h"
#include "support/test_support.h"

namespace hearth::test {

// The blobs under `dir` (sha256-<hex> files; partial downloads left out).
inline std::vector<std::string> blob_names(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("sha256-", 0) == 0 && name.find("-partial") == std::string::npos)
      out.push_back(name);
  }
  return out;
}

// A GGUF file that is no model: `floats` F32 values and an architecture key (the store accepts
// it; the post-pull check cannot load it).
inline void write_plain_gguf(const std::filesystem::path& path, size_t floats = 256) {
  std::vector<float> values(floats, 0.5f);
  gguf::Writer writer;
  writer.set("general.architecture", gguf::Value::of_string("llama"));
  writer.set("general.name", gguf::Value::of_string("tiny test"));
  writer.add_tensor(
      "weights", gguf::TensorType::f32, {static_cast<int64_t>(values.size())},
      std::span(reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)));
  std::filesystem::create_directories(path.parent_path());
  writer.write(path);
}

// A tiny runnable model (quantize/synth.h, the "tiny" shape, Q8_0, about 1.5 MB) that passes the
// post-pull check; different (size, value) pairs give different weights and so different blobs.
inline void write_tiny_model(const std::filesystem::path& path, size_t size = 256,
                             float value = 0.5f) {
  quantize::SynthOptions options;
  options.shape = "tiny";
  options.preset = "Q8_0";
  options.seed = static_cast<uint64_t>(size) * 1000 + static_cast<uint64_t>(value * 100.0f);
  std::filesystem::create_directories(path.parent_path());
  quantize::write_synth(quantize::plan_synth(options), path, {}, 1);
}

// The number of weights in a write_tiny_model() file.
inline std::uint64_t tiny_model_parameters() {
  quantize::SynthOptions options;
  options.shape = "tiny";
  options.preset = "Q8_0";
  return quantize::plan_synth(options).parameter_count;
}

class LibraryFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(served());
    // The catalog and paths::home() read HEARTH_HOME: keep them inside the test's folder.
    ::setenv("HEARTH_HOME", home().c_str(), 1);
    // Pulls through the Library are the API's: they come from a loopback server here.
    ::setenv("HEARTH_ALLOW_PRIVATE_URLS", "1", 1);
    server = std::make_unique<HttpFileServer>(served());
    store = std::make_unique<store::Store>(home());
    database.emplace(db::Database::open(database_url()));
    library = std::make_unique<library::Library>(*store, *database);
    local = library->local_user_id();
    alice = db::Users(*database).create("alice", "", "").id;
    bob = db::Users(*database).create("bob", "", "").id;
  }
  void TearDown() override {
    library.reset();
    ::unsetenv("HEARTH_HOME");
    ::unsetenv("HEARTH_ALLOW_PRIVATE_URLS");
  }

  // SQLite in the test's folder; fixtures that run on each backend give another.
  virtual std::string database_url() const {
    return "sqlite://" + (temp.path() / "library.db").string();
  }
  std::filesystem::path home() const { return temp.path() / "home"; }
  std::filesystem::path served() const { return temp.path() / "served"; }
  std::filesystem::path blobs() const { return home() / "blobs"; }

  // Serves a tiny GGUF as `file` and pulls it for `user`; returns the installed name.
  std::string pull_served(std::int64_t user, const std::string& file, float value = 0.5f) {
    if (!std::filesystem::exists(served() / file)) write_tiny_model(served() / file, 256, value);
    auto m = library->pull(user, server->url(file), {}, {});
    EXPECT_TRUE(m.has_value());
    return m ? m->full_name() : std::string();
  }

  std::vector<std::string> names(std::int64_t user) {
    std::vector<std::string> out;
    for (const auto& m : library->list(user)) out.push_back(m.full_name());
    return out;
  }

  TempDir temp;
  std::unique_ptr<HttpFileServer> server;
  std::unique_ptr<store::Store> store;
  std::optional<db::Database> database;
  std::unique_ptr<library::Library> library;
  std::int64_t local = 0, alice = 0, bob = 0;
};

// The ErrorKind a call throws; nullopt when it does not throw a hearth::Error.
template <class F>
std::optional<hearth::ErrorKind> error_kind_of(F&& f) {
  try {
    f();
  } catch (const hearth::Error& e) {
    return e.kind();
  }
  return std::nullopt;
}

}  // namespace hearth::test
