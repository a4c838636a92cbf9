// Layer offload (engine/model/gpu_layers.h) on the machine's Vulkan device (Mesa's lavapipe in
// CI): the conformance models with every layer on the GPU against their F32-activation
// references (".dequant-f32.ref.json" at 1e-3 for F16 and quantized files, ".ref.json" for F32
// ones; arch/ at the tolerance its reference states), the LoRA pack, part of the layers
// offloaded, two sequences batched as the server batches them, and per-sequence adapters
// compared with the CPU. Skipped, saying so, only where no Vulkan device exists.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/model/conformance_run.h"
#include "engine/model/context.h"
#include "engine/model/lora_files.h"
#include "gpu/gpu.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::model::test {
namespace {

namespace fs = std::filesystem;

// Skips the test when the machine has no Vulkan device (no loader, no driver).
#define REQUIRE_VULKAN_DEVICE()                                                            \
  do {                                                                                     \
    static const gpu::DeviceList devices = gpu::list_devices();                            \
    if (devices.devices.empty())                                                           \
      GTEST_SKIP() << "no Vulkan device (" << devices.note                                 \
                   << "): install mesa-vulkan-drivers for the CPU-type device (lavapipe)"; \
  } while (false)

struct Param {
  std::string folder;   // "models", "arch" or "lora"
  std::string file;     // the model (or, for lora/, the adapter) file name
  int gpu_layers = -1;  // -1: all
  Batching batching = Batching::one_batch;
};

void PrintTo(const Param& p, std::ostream* os) {
  *os << p.folder << "/" << p.file << " gpu_layers " << p.gpu_layers << " "
      << batching_name(p.batching);
}

std::vector<std::string> gguf_files(const std::string& folder) {
  std::vector<std::string> out;
  if (auto dir = hearth::test::conformance_dir(); dir && fs::is_directory(*dir / folder))
    for (const fs::directory_entry& e : fs::directory_iterator(*dir / folder))
      if (e.path().extension() == ".gguf") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Param> all_layers() {
  std::vector<Param> out;
  for (const char* folder : {"models", "arch", "lora"})
    for (const std::string& f : gguf_files(folder)) out.push_back({folder, f});
  if (out.empty()) out.push_back({"models", "none"});  // the test then skips
  return out;
}

std::vector<Param> other_ways() {
  return {
      // Part of the layers: layer 0 on the CPU, layer 1 and the output norm on the GPU (the
      // output matrix on the CPU), activations crossing twice.
      {"models", "llama-gqa-f32.gguf", 1, Batching::one_batch},
      {"models", "quant-base-q4_k_m.gguf", 1, Batching::token_by_token},
      // gemma3: layer 0 (local) on the CPU, layers 1 (local) and 2 (global) on the GPU: each
      // side keeps its own layers' rows of both cell pools.
      {"arch", "gemma3-f32.gguf", 2, Batching::token_by_token},
      // Two sequences in one batch, then a token of each per step (the server's batches).
      {"models", "llama-gqa-f32.gguf", -1, Batching::two_sequences},
      {"models", "mixtral-f32.gguf", -1, Batching::two_sequences},
      {"arch", "gemma3-f32.gguf", -1, Batching::two_sequences},
      // One token per batch: the generation step's shape.
      {"models", "qwen2-f32.gguf", -1, Batching::token_by_token},
  };
}

std::string param_name(const testing::TestParamInfo<Param>& info) {
  const Param& p = info.param;
  return identifier(p.folder + "_" + p.file.substr(0, p.file.find(".gguf")) + "_" +
                    (p.gpu_layers < 0 ? std::string("all") : std::to_string(p.gpu_layers)) + "_" +
                    batching_name(p.batching));
}

class GpuConformance : public testing::TestWithParam<Param> {};

TEST_P(GpuConformance, MatchesReference) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  REQUIRE_VULKAN_DEVICE();
  const Param& p = GetParam();
  const RunMode mode{kernels::Arithmetic::exact_f32, p.batching, false};
  if (p.folder != "lora") {
    const fs::path folder = dir / p.folder;
    // The six quant-base files share one shape and differ in their weights' types: the first
    // prompt (and its 24 greedy steps) runs every type's shader; lavapipe is slow at n_embd 256.
    const int max_cases = p.file.starts_with("quant-base-") ? 1 : 0;
    run_conformance({folder / p.file,
                     folder,
                     fs::path(p.file).stem().string(),
                     {},
                     mode,
                     p.gpu_layers,
                     max_cases});
    return;
  }
  // An adapter of the pack: its reference names the base model and the scale (README §7).
  const fs::path lora_dir = dir / "lora";
  const std::string stem = fs::path(p.file).stem().string();
  const auto ref =
      hearth::test::json_from(hearth::test::read_file(lora_dir / (stem + ".ref.json")));
  const auto& lora = ref.at("lora").as_object();
  const fs::path base = dir / "models" / boost::json::value_to<std::string>(ref.at("model"));
  const fs::path adapter_file = lora_dir / boost::json::value_to<std::string>(lora.at("adapter"));
  const auto scale = boost::json::value_to<float>(lora.at("scale"));
  const std::shared_ptr<const Model> model = Model::load(base);
  const AppliedLora applied{LoraAdapter::load(adapter_file, *model), scale};
  run_conformance({base,
                   lora_dir,
                   stem,
                   {applied},
                   mode,
                   p.gpu_layers,
                   base.filename().string().starts_with("quant-base-") ? 1 : 0});
}

INSTANTIATE_TEST_SUITE_P(AllLayers, GpuConformance, testing::ValuesIn(all_layers()), param_name);
INSTANTIATE_TEST_SUITE_P(OtherWays, GpuConformance, testing::ValuesIn(other_ways()), param_name);

// Two sequences with different adapters of their own in one batch (set_sequence_adapters, a
// server serving two fine-tunes) and the Context's own adapter: the GPU's logits equal the CPU's
// (F32 arithmetic on both) within the F32 tolerance, for the prompt and three steps after it.
TEST(GpuOffload, SequenceAdaptersMatchTheCpu) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  REQUIRE_VULKAN_DEVICE();
  const fs::path base = dir / "models" / "llama-gqa-f32.gguf";
  const auto model = Model::load(base);
  const hearth::test::TempDir temp;
  const fs::path& tmp = temp.path();
  auto adapter = [&](const std::vector<std::string>& suffixes, uint32_t seed) {
    const fs::path file = tmp / ("a" + std::to_string(seed) + ".gguf");
    write_adapter(file, random_adapter(base, suffixes, 4, 8, seed));
    return LoraAdapter::load(file, *model);
  };
  const auto all =
      adapter({"attn_q.weight", "attn_v.weight", "ffn_up.weight", "ffn_down.weight"}, 7);
  const auto some = adapter({"attn_k.weight", "attn_output.weight", "ffn_gate.weight"}, 8);
  const auto wide = adapter({"attn_q.weight"}, 9);

  auto run = [&](int gpu_layers) {
    ContextOptions o;
    o.n_ctx = 64;
    o.n_seq_max = 3;
    o.adapters = {{wide, 0.5f}};
    o.gpu_layers = gpu_layers;
    Context ctx(model, o);
    ctx.set_sequence_adapters(0, {{all, 1.0f}});
    ctx.set_sequence_adapters(1, {{some, 0.75f}, {all, 0.25f}});
    std::vector<float> out;
    std::vector<BatchEntry> batch;
    for (int s = 0; s < 3; ++s)
      for (int i = 0; i < 5; ++i) batch.push_back({10 + 7 * i + s, i, s, i == 4});
    for (int step = 0; step < 4; ++step) {
      const Logits l = ctx.decode(batch);
      batch.clear();
      for (size_t r = 0; r < l.size(); ++r) {
        out.insert(out.end(), l[r].begin(), l[r].end());
        batch.push_back({static_cast<int32_t>(100 + 13 * step + static_cast<int>(r)), 5 + step,
                         static_cast<int32_t>(r), true});
      }
    }
    return out;
  };
  const std::vector<float> cpu = run(0), gpu = run(-1);
  ASSERT_EQ(cpu.size(), gpu.size());
  float max_diff = 0;
  for (size_t i = 0; i < cpu.size(); ++i) max_diff = std::max(max_diff, std::abs(cpu[i] - gpu[i]));
  EXPECT_LT(max_diff, 1e-3f);
  std::cout << "[ result   ] sequence adapters, GPU vs CPU: max |diff| " << max_diff << "\n";
}

// The CPU cache keeps no rows for the GPU's layers: none with every layer offloaded, half with
// one of two.
TEST(GpuOffload, CpuCacheHoldsOnlyCpuLayers) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  REQUIRE_VULKAN_DEVICE();
  const auto model = Model::load(dir / "models" / "llama-gqa-f32.gguf");
  ContextOptions o;
  o.n_ctx = 128;
  const size_t cpu = Context(model, o).kv_cache().bytes();
  o.gpu_layers = 1;
  const Context half(model, o);
  EXPECT_EQ(half.n_gpu_layers(), 1);
  EXPECT_EQ(half.kv_cache().bytes(), cpu / 2);
  o.gpu_layers = -1;
  const Context none(model, o);
  EXPECT_EQ(none.n_gpu_layers(), 2);
  EXPECT_EQ(none.kv_cache().bytes(), 0u);
  EXPECT_GT(none.gpu_bytes(), 0u);
}

}  // namespace
}  // namespace hearth::model::test
