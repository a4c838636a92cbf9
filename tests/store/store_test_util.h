// Shared pieces of the store tests: GGUF files made on the spot and a loopback file server.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/sha256.h"
#include "engine/gguf/gguf.h"
#include "http_file_server.h"
#include "store/store.h"
#include "support/test_support.h"

namespace hearth::test {

struct TestModel {
  std::filesystem::path path;
  std::string digest;  // "sha256:<hex>"
  uint64_t size = 0;
};

// A real GGUF file of about `bytes` bytes: one F32 tensor of seeded random values.
inline TestModel make_gguf(const std::filesystem::path& path, size_t bytes, uint32_t seed) {
  std::vector<float> values(bytes / sizeof(float));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (float& v : values) v = dist(rng);
  gguf::Writer writer;
  writer.set("general.architecture", gguf::Value::of_string("llama"));
  writer.set("general.name", gguf::Value::of_string("store test " + std::to_string(seed)));
  writer.add_tensor(
      "weights", gguf::TensorType::f32, {static_cast<int64_t>(values.size())},
      std::span(reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)));
  std::filesystem::create_directories(path.parent_path());
  writer.write(path);
  return {path, "sha256:" + sha256_file_hex(path), std::filesystem::file_size(path)};
}

// Names of the files in a folder (empty when it does not exist), sorted.
inline std::vector<std::string> file_names(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Options that make failures quick: small parts, short stall timeout, short backoff.
inline store::DownloadOptions quick_download_options() {
  store::DownloadOptions o;
  o.parts = 4;
  o.min_part_size = 256 << 10;
  o.stall_timeout = std::chrono::milliseconds(2000);
  o.max_retries = 3;
  o.retry_delay = std::chrono::milliseconds(20);
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.state_flush_interval = std::chrono::milliseconds(50);
  o.progress_interval = std::chrono::milliseconds(20);
  return o;
}

// A temporary HEARTH_HOME and a server for files under served/.
class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(served());
    server = std::make_unique<HttpFileServer>(served());
  }
  std::filesystem::path served() const { return temp.path() / "served"; }
  std::filesystem::path home() const { return temp.path() / "home"; }
  std::filesystem::path blobs() const { return home() / "blobs"; }
  TestModel serve_model(const std::string& name, size_t bytes, uint32_t seed = 1) {
    return make_gguf(served() / name, bytes, seed);
  }

  TempDir temp;
  std::unique_ptr<HttpFileServer> server;
};

}  // namespace hearth::test
