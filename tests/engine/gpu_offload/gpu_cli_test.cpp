// `--gpu-layers` on `hearth run`: auto uses real GPUs only, so on a machine whose one Vulkan
// device is CPU-type (lavapipe, as in CI) it says "no GPU found (...): running on the CPU" and
// answers on the CPU; `all` (or a number) is explicit and uses whatever device there is, with
// the same greedy answer as the CPU; HEARTH_VULKAN_CPU=1 lets auto take the CPU-type device; and
// an explicit count without any Vulkan device is an error that says so.
#include <gtest/gtest.h>

#include "gpu/gpu.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using test::contains;
using test::run_hearth;

// Hides every Vulkan driver from the loader (old and new variable names).
const std::vector<std::pair<std::string, std::string>> kNoDriver = {
    {"VK_ICD_FILENAMES", "/nonexistent/none.json"}, {"VK_DRIVER_FILES", "/nonexistent/none.json"}};

bool only_cpu_devices(const gpu::DeviceList& list) {
  for (const gpu::DeviceInfo& d : list.devices)
    if (d.kind != gpu::DeviceKind::cpu) return false;
  return true;
}

std::vector<std::string> run_args(const std::filesystem::path& model, const std::string& layers) {
  return {"run",
          model.string(),
          "why is the sky blue?",
          "--temperature",
          "0",
          "--max-tokens",
          "8",
          "--kv-cache",
          "f32",
          "--gpu-layers",
          layers};
}

TEST(GpuCli, AutoWithoutARealGpuRunsOnTheCpu) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const gpu::DeviceList list = gpu::list_devices();
  if (!only_cpu_devices(list)) GTEST_SKIP() << "this machine has a GPU: auto would use it";
  const auto model = dir / "models" / "llama-gqa-f32.gguf";
  const auto r = run_hearth(run_args(model, "auto"), {{"HEARTH_VULKAN_CPU", ""}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "no GPU found (")) << r.err;
  EXPECT_TRUE(contains(r.err, "): running on the CPU")) << r.err;
  EXPECT_FALSE(contains(r.err, "layers on ")) << r.err;
  EXPECT_FALSE(r.out.empty());
  // The same without any Vulkan driver: still the CPU, with the loader's reason.
  const auto none = run_hearth(run_args(model, "auto"), kNoDriver);
  ASSERT_EQ(none.exit_code, 0) << none.err;
  EXPECT_TRUE(contains(none.err, "no GPU found (")) << none.err;
  EXPECT_EQ(none.out, r.out);
}

TEST(GpuCli, AllUsesTheCpuTypeDeviceAndAnswersAsTheCpu) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  if (gpu::list_devices().devices.empty()) GTEST_SKIP() << "no Vulkan device";
  const auto model = dir / "models" / "llama-gqa-f32.gguf";
  const auto cpu = run_hearth(run_args(model, "0"));
  const auto all = run_hearth(run_args(model, "all"), {{"HEARTH_VULKAN_CPU", ""}});
  ASSERT_EQ(cpu.exit_code, 0) << cpu.err;
  ASSERT_EQ(all.exit_code, 0) << all.err;
  EXPECT_TRUE(contains(all.err, "GPU: 2 of 2 layers and the output on ")) << all.err;
  EXPECT_FALSE(contains(cpu.err, "layers on ")) << cpu.err;
  EXPECT_EQ(all.out, cpu.out) << "greedy answers on the GPU and the CPU";
  // HEARTH_VULKAN_CPU=1: auto takes the CPU-type device too.
  const auto forced = run_hearth(run_args(model, "auto"), {{"HEARTH_VULKAN_CPU", "1"}});
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_TRUE(contains(forced.err, "GPU: all 2 layers on ")) << forced.err;
  EXPECT_EQ(forced.out, cpu.out);
}

TEST(GpuCli, ExplicitLayersWithoutAnyDeviceAreAnError) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto model = dir / "models" / "llama-gqa-f32.gguf";
  for (const std::string layers : {"all", "1"}) {
    const auto r = run_hearth(run_args(model, layers), kNoDriver);
    EXPECT_NE(r.exit_code, 0) << layers;
    EXPECT_TRUE(contains(r.err, "no Vulkan device was found")) << r.err;
  }
  const auto bad = run_hearth(run_args(model, "many"));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_TRUE(contains(bad.err, "--gpu-layers=many: use auto, all or a number")) << bad.err;
}

}  // namespace
}  // namespace hearth
