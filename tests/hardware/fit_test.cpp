// Fit verdicts on machines built by hand.
#include <gtest/gtest.h>

#include "hardware/hardware.h"

namespace hearth::hardware {
namespace {

MachineInfo machine(uint64_t ram_gib, uint64_t available_gib, uint64_t disk_gib = 500) {
  MachineInfo m;
  m.logical_cores = m.physical_cores = 8;
  m.ram_total = ram_gib * kGiB;
  m.ram_available = available_gib * kGiB;
  m.disk_free = disk_gib * kGiB;
  m.disk_path = "/home/me/.local/share/hearth";
  m.gpu_note = "no NVIDIA GPU";
  return m;
}

MachineInfo with_gpu(MachineInfo m, uint64_t vram_gib, uint64_t free_gib) {
  m.gpus.push_back({0, "NVIDIA GeForce RTX 4090", vram_gib * kGiB, free_gib * kGiB});
  m.gpu_note.clear();
  return m;
}

// Qwen2.5-7B-Instruct Q4_K_M: 28 layers, 4 KV heads of 128.
ModelShape seven_b() {
  return {4'680'000'000, 28, 4, 128};
}
// DeepSeek-R1-Distill-Qwen-1.5B Q4_K_M: 28 layers, 2 KV heads of 128.
ModelShape one_and_a_half_b() {
  return {1'120'000'000, 28, 2, 128};
}
// Qwen2.5-Coder-32B Q4_K_M: 64 layers, 8 KV heads of 128.
ModelShape thirty_two_b() {
  return {19'850'000'000, 64, 8, 128};
}

bool any_reason_has(const FitResult& r, const std::string& text) {
  for (const auto& reason : r.reasons)
    if (reason.find(text) != std::string::npos) return true;
  return false;
}

std::string all_reasons(const FitResult& r) {
  std::string s;
  for (const auto& reason : r.reasons) s += reason + "\n";
  return s;
}

TEST(KvCache, FollowsTheFormula) {
  // 2 × 28 layers × 8192 × 4 heads × 128 × 2 bytes = 448 MiB.
  EXPECT_EQ(kv_cache_bytes(seven_b(), 8192), uint64_t{2} * 28 * 8192 * 4 * 128 * 2);
  EXPECT_EQ(kv_cache_bytes(seven_b(), 8192), 448 * kMiB);
  // F32 values (hearth bench's F32 cache) and many sequences' cells (the server's n_ctx × parallel).
  EXPECT_EQ(kv_cache_bytes(seven_b(), 8192, 4), 896 * kMiB);
  EXPECT_EQ(kv_cache_bytes(seven_b(), uint64_t{8192} * 4), 4 * 448 * kMiB);
  // Block-quantized caches: Q8_0 is 34 bytes per 32 values (a 128-value head is 4 blocks).
  EXPECT_EQ(kv_cache_bytes_per_block(seven_b(), 8192, 34), uint64_t{2} * 28 * 8192 * 4 * 4 * 34);
  EXPECT_EQ(kv_cache_bytes_per_block(seven_b(), 8192, 64), kv_cache_bytes(seven_b(), 8192));
  MemoryEstimate e = estimate_memory(seven_b(), 8192);
  EXPECT_EQ(e.weights, 4'680'000'000u);
  EXPECT_EQ(e.total, e.weights + e.kv_cache + e.overhead);
  EXPECT_GT(e.overhead, 300 * kMiB);  // buffers plus 10%
}

TEST(Fit, SmallModelFitsTheCpuOfA24GbMachine) {
  FitResult r = assess_fit(machine(24, 22), one_and_a_half_b(),
                           {8 * kGiB, 0, 3 * kGiB, GpuNeed::none}, {8192});
  EXPECT_EQ(r.verdict, Verdict::fits_cpu) << all_reasons(r);
  EXPECT_TRUE(any_reason_has(r, "22 GB available")) << all_reasons(r);
  EXPECT_EQ(r.gpu_layers, 0u);
}

TEST(Fit, CatalogMinimumsAndMissingGpuRuleOutABigModel) {
  FitResult r = assess_fit(machine(24, 22), thirty_two_b(),
                           {64 * kGiB, 24 * kGiB, 20 * kGiB, GpuNeed::required}, {8192});
  EXPECT_EQ(r.verdict, Verdict::will_not_fit);
  EXPECT_TRUE(
      any_reason_has(r, "needs at least 64 GB RAM (catalog minimum), this machine has 24 GB"))
      << all_reasons(r);
  EXPECT_TRUE(any_reason_has(r, "needs a GPU with 24 GB VRAM, none found")) << all_reasons(r);
}

TEST(Fit, TooLittleRamSaysHowMuchIsNeeded) {
  FitResult r = assess_fit(machine(16, 12), thirty_two_b(), {}, {8192});
  EXPECT_EQ(r.verdict, Verdict::will_not_fit);
  EXPECT_TRUE(any_reason_has(r, "RAM, 12 GB available")) << all_reasons(r);
  EXPECT_TRUE(any_reason_has(r, "needs 2")) << all_reasons(r);  // needs 20-something GB
}

TEST(Fit, SevenBFitsFullyOnA24GbGpu) {
  FitResult r = assess_fit(with_gpu(machine(32, 28), 24, 23), seven_b(), {}, {8192});
  EXPECT_EQ(r.verdict, Verdict::fits_gpu) << all_reasons(r);
  EXPECT_EQ(r.gpu_layers, 28u);
  EXPECT_EQ(r.gpu_index, 0);
  EXPECT_TRUE(any_reason_has(r, "runs fully on NVIDIA GeForce RTX 4090")) << all_reasons(r);
}

TEST(Fit, TooSmallAGpuSplitsTheLayers) {
  FitResult r = assess_fit(with_gpu(machine(32, 28), 4, 3), seven_b(), {}, {8192});
  EXPECT_EQ(r.verdict, Verdict::fits_partial_gpu) << all_reasons(r);
  EXPECT_GT(r.gpu_layers, 0u);
  EXPECT_LT(r.gpu_layers, 28u);
  EXPECT_TRUE(any_reason_has(r, "of 28 layers on NVIDIA")) << all_reasons(r);
}

TEST(Fit, RequiredGpuTooSmallWillNotFit) {
  FitResult r = assess_fit(with_gpu(machine(128, 120), 16, 15), thirty_two_b(),
                           {64 * kGiB, 24 * kGiB, 20 * kGiB, GpuNeed::required}, {8192});
  EXPECT_EQ(r.verdict, Verdict::will_not_fit);
  EXPECT_TRUE(any_reason_has(r, "needs a GPU with 24 GB VRAM, the largest found"))
      << all_reasons(r);
}

TEST(Fit, RequiredGpuPresentMeetsTheMinimum) {
  // A "64 GB" machine reports a little under 64 GiB; a "24 GB" card a little under 24 GiB.
  MachineInfo m = machine(64, 60);
  m.ram_total = 63 * kGiB;
  m = with_gpu(m, 24, 22);
  FitResult r =
      assess_fit(m, thirty_two_b(), {64 * kGiB, 24 * kGiB, 20 * kGiB, GpuNeed::required}, {8192});
  EXPECT_TRUE(fits(r.verdict)) << all_reasons(r);
  EXPECT_EQ(r.verdict, Verdict::fits_partial_gpu) << all_reasons(r);  // needs ~22.8 GB > 22 free
}

TEST(Fit, LittleRamLeftIsTight) {
  // Needs about 5.5 GB of 6 GB available on a 16 GB machine: < 15% left.
  FitResult r = assess_fit(machine(16, 6), seven_b(), {}, {8192});
  EXPECT_EQ(r.verdict, Verdict::tight) << all_reasons(r);
  EXPECT_TRUE(any_reason_has(r, "less than 15%")) << all_reasons(r);
}

TEST(Fit, RecommendedGpuMissingStillFitsWithANote) {
  FitResult r = assess_fit(machine(64, 60), seven_b(),
                           {16 * kGiB, 6 * kGiB, 8 * kGiB, GpuNeed::recommended}, {4096});
  EXPECT_EQ(r.verdict, Verdict::fits_cpu);
  EXPECT_TRUE(any_reason_has(r, "a GPU with 6 GB VRAM is recommended")) << all_reasons(r);
}

TEST(Fit, NotEnoughDiskWillNotFitUnlessDownloaded) {
  MachineInfo m = machine(32, 30, 2);
  FitResult r = assess_fit(m, seven_b(), {}, {4096});
  EXPECT_EQ(r.verdict, Verdict::will_not_fit);
  EXPECT_TRUE(any_reason_has(r, "of disk, 2 GB free at /home/me/.local/share/hearth"))
      << all_reasons(r);
  FitOptions downloaded{4096, true};
  EXPECT_EQ(assess_fit(m, seven_b(), {}, downloaded).verdict, Verdict::fits_cpu);
}

TEST(Fit, LongerContextNeedsMoreMemory) {
  FitResult short_ctx = assess_fit(machine(32, 30), seven_b(), {}, {2048});
  FitResult long_ctx = assess_fit(machine(32, 30), seven_b(), {}, {32768});
  EXPECT_LT(short_ctx.memory.total, long_ctx.memory.total);
  EXPECT_EQ(long_ctx.memory.kv_cache, 16 * short_ctx.memory.kv_cache);
}

TEST(Format, BytesAsGb) {
  EXPECT_EQ(format_bytes(64 * kGiB), "64 GB");
  EXPECT_EQ(format_bytes(kGiB + kGiB / 10), "1.1 GB");
  EXPECT_EQ(format_bytes(512 * kMiB), "512 MB");
  EXPECT_EQ(verdict_name(Verdict::fits_partial_gpu), "fits_partial_gpu");
  EXPECT_EQ(gpu_need_name(GpuNeed::recommended), "recommended");
}

}  // namespace
}  // namespace hearth::hardware
