// `--gpu-layers auto` (hardware::plan_gpu_layers): which device, how many of the last layers,
// and the one line it logs, on machines built by hand.
#include <gtest/gtest.h>

#include "hardware/hardware.h"

namespace hearth::hardware {
namespace {

GpuInfo vulkan_gpu(unsigned index, const std::string& name, uint64_t vram_free, bool cpu = false) {
  GpuInfo g;
  g.index = index;
  g.name = name;
  g.vram_total = g.vram_free = vram_free;
  g.vulkan = true;
  g.cpu_device = cpu;
  g.kind = cpu ? "cpu" : "discrete";
  return g;
}

// A 32-layer model of 4 GiB with 8 KV heads of 128 values.
ModelShape shape() {
  return {4 * kGiB, 32, 8, 128, 0, 0};
}

TEST(GpuPlan, NoDeviceRunsOnTheCpuAndSaysWhy) {
  const GpuLayerPlan p =
      plan_gpu_layers({}, "no Vulkan loader (libvulkan.so.1)", shape(), 4096, 64, 1, false);
  EXPECT_EQ(p.layers, 0);
  EXPECT_EQ(p.device, -1);
  EXPECT_EQ(p.summary, "no GPU found (no Vulkan loader (libvulkan.so.1)): running on the CPU");
}

TEST(GpuPlan, ACpuTypeDeviceIsUsedOnlyWhenAllowed) {
  const std::vector<GpuInfo> gpus = {vulkan_gpu(0, "llvmpipe", 64 * kGiB, true)};
  const GpuLayerPlan no = plan_gpu_layers(gpus, "", shape(), 4096, 64, 1, false);
  EXPECT_EQ(no.layers, 0);
  EXPECT_NE(no.summary.find("no GPU found (only a CPU-type Vulkan device"), std::string::npos)
      << no.summary;
  EXPECT_NE(no.summary.find("HEARTH_VULKAN_CPU=1"), std::string::npos) << no.summary;
  const GpuLayerPlan yes = plan_gpu_layers(gpus, "", shape(), 4096, 64, 1, true);
  EXPECT_EQ(yes.layers, -1);
  EXPECT_EQ(yes.device, 0);
}

TEST(GpuPlan, EverythingThatFitsGoesAndTheMostFreeGpuIsChosen) {
  const std::vector<GpuInfo> gpus = {vulkan_gpu(0, "small", 2 * kGiB),
                                     vulkan_gpu(1, "llvmpipe", 512 * kGiB, true),
                                     vulkan_gpu(2, "big", 24 * kGiB)};
  const GpuLayerPlan p = plan_gpu_layers(gpus, "", shape(), 4096, 64, 1, false);
  EXPECT_EQ(p.layers, -1);
  EXPECT_EQ(p.device, 2);
  EXPECT_NE(p.summary.find("all 32 layers on big"), std::string::npos) << p.summary;
}

TEST(GpuPlan, PartOfTheLayersFollowsTheFitFormula) {
  const ModelShape s = shape();
  const uint64_t free = 3 * kGiB;
  const GpuLayerPlan p = plan_gpu_layers({vulkan_gpu(0, "card", free)}, "", s, 4096, 64, 1, false);
  // Per layer: its share of the weights and the F16 cache, plus 10%; 300 MiB kept for buffers.
  const uint64_t total = s.file_bytes + kv_cache_bytes(s, 4096, 2, 1);
  const uint64_t per_layer = (total + total / 10) / s.n_layer;
  EXPECT_EQ(p.layers, static_cast<int>((free - 300 * kMiB) / per_layer));
  EXPECT_GT(p.layers, 0);
  EXPECT_LT(p.layers, 32);
  EXPECT_EQ(p.device, 0);
  // A longer context leaves room for fewer layers.
  const GpuLayerPlan longer =
      plan_gpu_layers({vulkan_gpu(0, "card", free)}, "", s, 65536, 64, 1, false);
  EXPECT_LT(longer.layers, p.layers);
  // Too little memory for one layer: the CPU.
  const GpuLayerPlan none =
      plan_gpu_layers({vulkan_gpu(0, "card", 310 * kMiB)}, "", s, 4096, 64, 1, false);
  EXPECT_EQ(none.layers, 0);
  EXPECT_EQ(none.device, -1);
}

TEST(GpuPlan, TheFitIgnoresCpuTypeDevices) {
  MachineInfo m;
  m.ram_total = m.ram_available = 64 * kGiB;
  m.disk_free = 100 * kGiB;
  m.gpus = {vulkan_gpu(0, "llvmpipe", 64 * kGiB, true)};
  const FitResult r = assess_fit(m, shape(), {}, {});
  EXPECT_EQ(r.verdict, Verdict::fits_cpu);
  EXPECT_EQ(r.gpu_layers, 0u);
}

}  // namespace
}  // namespace hearth::hardware
