// Runs the real `hearth quantize` and `hearth synth` binaries: byte-identical llama-quantize
// output on the conformance base model, clear errors, and tiny synthetic models of every type
// that load and generate.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "engine/gguf/gguf.h"
#include "engine/quantize/recipe.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::CommandResult;
using test::json_from;
using test::run_hearth;

size_t count_lines_with(const std::string& text, const std::string& part) {
  size_t n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) n += line.find(part) != std::string::npos;
  return n;
}

TEST(QuantizeCommand, ReproducesLlamaQuantizeAndReportsEachTensor) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const fs::path out = tmp.path() / "q4km.gguf";
  const CommandResult r = run_hearth(
      {"quantize", (dir / "models" / "quant-base-f16.gguf").string(), out.string(), "q4_k_m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(count_lines_with(r.err, "/  20]"), 20u) << r.err;
  EXPECT_NE(r.err.find("blk.1.ffn_down.weight"), std::string::npos);
  EXPECT_EQ(test::read_file(out), test::read_file(dir / "models" / "quant-base-q4_k_m.gguf"));
}

TEST(QuantizeCommand, ClearErrors) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const std::string in = (dir / "models" / "quant-base-f16.gguf").string();
  const std::string out = (tmp.path() / "out.gguf").string();

  CommandResult r = run_hearth({"quantize", in, out, "Q4_K_X"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown type 'Q4_K_X'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Q4_K_M"), std::string::npos) << r.err;  // lists the supported ones
  EXPECT_FALSE(fs::exists(out));

  r = run_hearth({"quantize", (tmp.path() / "missing.gguf").string(), out, "Q8_0"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("missing.gguf"), std::string::npos) << r.err;

  std::ofstream(out) << "precious";
  r = run_hearth({"quantize", in, out, "Q8_0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  EXPECT_EQ(test::read_file(out), "precious");
  r = run_hearth({"quantize", in, out, "Q8_0", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(test::read_file(out), test::read_file(dir / "models" / "quant-base-q8_0.gguf"));

  r = run_hearth({"quantize", in, in, "Q8_0", "--force"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // No temporary files left behind.
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(tmp.path())) n += e.path().filename() != "out.gguf";
  EXPECT_EQ(n, 0u);
}

TEST(QuantizeCommand, RequantizingWarns) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const std::string out = (tmp.path() / "out.gguf").string();
  const CommandResult r = run_hearth(
      {"quantize", (dir / "models" / "quant-base-q8_0.gguf").string(), out, "Q4_0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
  const gguf::File f = gguf::File::open(out);
  EXPECT_EQ(f.get_int("general.file_type"), 2);
}

// Tiny random models of every preset load and generate.
class SynthTinyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SynthTinyTest, LoadsAndGenerates) {
  test::TempDir tmp;
  for (const char* arch : {"llama", "qwen2"}) {
    SCOPED_TRACE(arch);
    const std::string out = (tmp.path() / (std::string(arch) + ".gguf")).string();
    CommandResult r = run_hearth(
        {"synth", "--arch", arch, "--shape", "tiny", "--type", GetParam(), "-o", out});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const gguf::File f = gguf::File::open(out);
    EXPECT_EQ(f.get_int("general.file_type"),
              static_cast<int64_t>(quantize::find_preset(GetParam())->file_type));
    EXPECT_NE(f.get_string("general.name")->find("RANDOM"), std::string::npos);
    r = run_hearth({"generate", out, "--prompt", "hi", "-n", "4", "--ids"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::istringstream ids(r.out);
    int id, n = 0;
    while (ids >> id) {
      EXPECT_GE(id, 0);
      EXPECT_LT(id, 1000);
      ++n;
    }
    EXPECT_EQ(n, 4) << r.out;
  }
}

INSTANTIATE_TEST_SUITE_P(Presets, SynthTinyTest,
                         ::testing::Values("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
                                           "Q5_1", "Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K",
                                           "IQ4_NL"));

TEST(SynthCommand, SameSeedSameBytesAndQuantizesLikeDirectSynth) {
  test::TempDir tmp;
  const std::string a = (tmp.path() / "a.gguf").string();
  const std::string b = (tmp.path() / "b.gguf").string();
  const std::string c = (tmp.path() / "c.gguf").string();
  ASSERT_EQ(run_hearth({"synth", "--shape", "tiny", "--type", "F32", "--seed", "5", "-o", a}).exit_code, 0);
  ASSERT_EQ(run_hearth({"synth", "--shape", "tiny", "--type", "F32", "--seed", "5", "-o", b,
                        "--threads", "1"}).exit_code, 0);
  ASSERT_EQ(run_hearth({"synth", "--shape", "tiny", "--type", "F32", "--seed", "6", "-o", c}).exit_code, 0);
  EXPECT_EQ(test::read_file(a), test::read_file(b));
  EXPECT_NE(test::read_file(a), test::read_file(c));
  // F32 synth quantized by `hearth quantize` = synth written directly in that type (same rules,
  // same rows), apart from the file-type metadata order, so compare tensor bytes.
  const std::string q = (tmp.path() / "q.gguf").string();
  const std::string d = (tmp.path() / "d.gguf").string();
  ASSERT_EQ(run_hearth({"quantize", a, q, "Q4_K_M"}).exit_code, 0);
  ASSERT_EQ(run_hearth({"synth", "--shape", "tiny", "--type", "Q4_K_M", "--seed", "5", "-o", d}).exit_code, 0);
  const gguf::File fq = gguf::File::open(q), fd = gguf::File::open(d);
  ASSERT_EQ(fq.tensors().size(), fd.tensors().size());
  for (size_t k = 0; k < fq.tensors().size(); ++k) {
    const auto& tq = fq.tensors()[k];
    const auto& td = fd.tensors()[k];
    EXPECT_EQ(tq.name, td.name);
    EXPECT_EQ(tq.type, td.type) << tq.name;
    const auto bq = fq.tensor_data(tq), bd = fd.tensor_data(td);
    EXPECT_TRUE(std::equal(bq.begin(), bq.end(), bd.begin(), bd.end())) << tq.name;
  }
}

TEST(SynthCommand, DryRunShowsTheBigShapesLikeInspect) {
  const CommandResult r =
      run_hearth({"synth", "--shape", "llama-3.2-1b", "--type", "Q4_K_M", "--dry-run"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::value j = json_from(r.out);
  EXPECT_EQ(j.at("arch").as_string(), "llama");
  EXPECT_EQ(j.at("parameter_count"), json::value(1235814432u));
  const json::value& metadata = j.at("metadata");
  EXPECT_EQ(metadata.at("llama.block_count"), json::value(16));
  EXPECT_EQ(metadata.at("llama.attention.head_count_kv"), json::value(8));
  EXPECT_EQ(metadata.at("general.file_type"), json::value(15));
  EXPECT_EQ(metadata.at("tokenizer.ggml.tokens").at("count"), json::value(128256));
  std::map<std::string, json::value> t;
  for (const json::value& x : j.at("tensors").as_array())
    t[json::value_to<std::string>(x.at("name"))] = x;
  EXPECT_EQ(t.size(), 16u * 9 + 3);
  EXPECT_EQ(t["token_embd.weight"].at("shape").as_array(), (json::array{2048, 128256}));
  EXPECT_EQ(t["token_embd.weight"].at("type").as_string(), "Q6_K");
  EXPECT_EQ(t["blk.15.attn_k.weight"].at("shape").as_array(), (json::array{2048, 512}));
  EXPECT_EQ(t["blk.15.ffn_down.weight"].at("shape").as_array(), (json::array{8192, 2048}));
  EXPECT_EQ(t["blk.15.ffn_down.weight"].at("type").as_string(), "Q6_K");
  EXPECT_EQ(t["blk.5.ffn_down.weight"].at("type").as_string(), "Q4_K");
  EXPECT_EQ(t["rope_freqs.weight"].at("shape").as_array(), json::array{32});
  EXPECT_EQ(t.count("output.weight"), 0u);

  const CommandResult q =
      run_hearth({"synth", "--shape", "qwen2.5-1.5b", "--type", "F16", "--dry-run"});
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const json::value jq = json_from(q.out);
  EXPECT_EQ(jq.at("arch").as_string(), "qwen2");
  std::map<std::string, json::value> tq;
  for (const json::value& x : jq.at("tensors").as_array())
    tq[json::value_to<std::string>(x.at("name"))] = x;
  EXPECT_EQ(tq["token_embd.weight"].at("shape").as_array(), (json::array{1536, 151936}));
  EXPECT_EQ(tq["blk.27.attn_v.weight"].at("shape").as_array(), (json::array{1536, 256}));
  EXPECT_EQ(tq["blk.27.attn_v.bias"].at("shape").as_array(), json::array{256});
  EXPECT_EQ(tq["blk.27.ffn_up.weight"].at("shape").as_array(), (json::array{1536, 8960}));
}

TEST(SynthCommand, VocabularyAndErrors) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const std::string out = (tmp.path() / "v.gguf").string();
  CommandResult r = run_hearth({"synth", "--shape", "tiny", "--type", "Q8_0", "--vocab",
                                (dir / "tokenizer" / "ggml-vocab-tiny-spm.gguf").string(), "-o", out});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_hearth({"generate", out, "--prompt", "Hello world", "-n", "2", "--ids"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run_hearth({"synth", "--shape", "tiny", "-o", out});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--force"), std::string::npos) << r.err;
  r = run_hearth({"synth", "--shape", "llama-70b", "-o", out, "--force"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("llama-3.2-1b"), std::string::npos) << r.err;
  r = run_hearth({"synth", "--shape", "tiny", "--type", "Q7", "-o", out, "--force"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("IQ4_NL"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hearth
