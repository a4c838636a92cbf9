// `hearth bench MODEL` through the real binary on a conformance model, with tiny -p/-n and a
// small bandwidth buffer: the JSON has every field and the numbers are sane (no timing asserts).
#include <gtest/gtest.h>

#include <filesystem>

#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using test::run_hearth;

TEST(BenchModelCommand, PrintsEveryFieldAsJson) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const fs::path model = dir / "models" / "llama-gqa-f32.gguf";
  auto r = run_hearth({"bench", model.string(), "-p", "6", "-n", "3", "-t", "2", "-r", "2",
                       "--bandwidth-mib", "16", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = test::json_from(r.out);
  // Each number as it always was: a whole number of bytes as an integer, a double with a point.
  EXPECT_TRUE(j.at("threads").is_int64());
  EXPECT_TRUE(j.at("file_size").is_double());
  EXPECT_TRUE(test::contains(r.out, "\n  \"benchmark\": \"model\",\n")) << r.out;
  EXPECT_EQ(j.at("benchmark"), "model");
  EXPECT_EQ(j.at("model").as_string(), model.string());
  EXPECT_EQ(j.at("arch"), "llama");
  EXPECT_EQ(j.at("type"), "F32");
  EXPECT_EQ(j.at("file_size").to_number<double>(), static_cast<double>(fs::file_size(model)));
  EXPECT_EQ(j.at("threads"), 2);
  EXPECT_EQ(j.at("n_prompt"), 6);
  EXPECT_EQ(j.at("n_gen"), 3);
  EXPECT_EQ(j.at("repetitions"), 2);
  for (const char* test : {"pp", "tg"}) {
    const auto& t = j.at(test);
    EXPECT_EQ(t.at("samples").as_array().size(), 2u) << test;
    EXPECT_GT(t.at("tokens_per_s").to_number<double>(), 0.0) << test;
    EXPECT_GE(t.at("sd").to_number<double>(), 0.0) << test;
  }
  EXPECT_GT(j.at("read_bandwidth_gbps").to_number<double>(), 0.0);
  EXPECT_EQ(j.at("read_bandwidth").at("bytes"), 16 << 20);
  EXPECT_EQ(j.at("read_bandwidth").at("threads"), 2);
  EXPECT_GT(j.at("weight_bytes_per_token").to_number<double>(), 0.0);
  EXPECT_LT(j.at("weight_bytes_per_token").to_number<double>(),
            j.at("file_size").to_number<double>());
  EXPECT_GT(j.at("tg_effective_gbps").to_number<double>(), 0.0);
  EXPECT_GT(j.at("tg_bandwidth_ratio").to_number<double>(), 0.0);
  EXPECT_GT(j.at("kv_cache_bytes").to_number<double>(), 0.0);
  EXPECT_GT(j.at("peak_rss_bytes").to_number<double>(), 0.0);
  EXPECT_TRUE(test::has_key(j, "load_average"));
  EXPECT_EQ(j.at("kernels").as_string().empty(), false);
  EXPECT_FALSE(j.at("cpu").as_string().empty());
  EXPECT_GT(j.at("pp_over_tg").to_number<double>(), 0.0);
}

// `hearth bench tokenizer` on a small text: figures with and without the word cache for the
// vocabulary named (the command itself fails if the cache changed an id).
TEST(BenchTokenizerCommand, MeasuresWithAndWithoutTheWordCache) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto r = run_hearth({"bench", "tokenizer", (dir / "tokenizer" / "ggml-vocab-gpt-2.gguf").string(),
                       "--size-mib", "0.05", "--repeat", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = test::json_from(r.out);
  EXPECT_FALSE(j.at("cpu").as_string().empty());
  ASSERT_EQ(j.at("results").as_array().size(), 1u);
  for (const auto& v : j.at("results").as_array()) {
    EXPECT_GT(v.at("tokens").to_number<double>(), 0.0);
    for (const char* key : {"mb_per_s", "mb_per_cpu_s", "mb_per_s_no_cache",
                            "mb_per_cpu_s_no_cache", "cache_speedup", "cache_speedup_cpu"})
      EXPECT_GT(v.at(key).to_number<double>(), 0.0) << key;
    EXPECT_GT(v.at("distinct_words").at("cache_speedup_cpu").to_number<double>(), 0.0);
  }
}

TEST(BenchModelCommand, PrintsATable) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto r = run_hearth({"bench", (dir / "models" / "llama-gqa-f32.gguf").string(), "-p", "4", "-n",
                       "2", "-r", "1", "--bandwidth-mib", "16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pp4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tg2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("read bandwidth"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("peak RSS"), std::string::npos) << r.out;
}

TEST(BenchModelCommand, MeasuresAtEachDepth) {
  // -d as llama-bench's: pp and tg after that many cached tokens, one entry per depth; the
  // Q8_0 cache needs 32-value heads (quant-base has 64).
  HEARTH_REQUIRE_CONFORMANCE(dir);
  auto r = run_hearth({"bench", (dir / "models" / "quant-base-q8_0.gguf").string(), "-p", "4",
                       "-n", "2", "-r", "1", "-d", "0,40", "--kv-cache", "q8_0",
                       "--bandwidth-mib", "16", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = test::json_from(r.out);
  EXPECT_EQ(j.at("kv_cache_type"), "q8_0");
  const auto& depths = j.at("depths").as_array();
  ASSERT_EQ(depths.size(), 2u);
  EXPECT_EQ(depths[0].at("depth"), 0);
  EXPECT_EQ(depths[1].at("depth"), 40);
  for (const auto& d : depths)
    for (const char* test : {"pp", "tg"})
      EXPECT_GT(d.at(test).at("tokens_per_s").to_number<double>(), 0.0) << test;
  r = run_hearth({"bench", (dir / "models" / "quant-base-q8_0.gguf").string(), "-p", "4", "-n",
                  "2", "-r", "1", "-d", "8", "--bandwidth-mib", "16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pp4 @ d8"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tg2 @ d8"), std::string::npos) << r.out;
  r = run_hearth({"bench", (dir / "models" / "quant-base-q8_0.gguf").string(), "-p", "4",
                  "--kv-cache", "q4_0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--kv-cache=q4_0"), std::string::npos) << r.err;
}

TEST(BenchModelCommand, RejectsAMissingModel) {
  auto r = run_hearth({"bench"});
  EXPECT_NE(r.exit_code, 0);
  r = run_hearth({"bench", "/nonexistent/model.gguf", "-p", "1", "-n", "1"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

}  // namespace
}  // namespace hearth
