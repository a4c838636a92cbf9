// GPUs: Vulkan's device list joined with NVML's free memory, and where `--gpu-layers auto` puts
// a model's layers (hardware.h).
#include <algorithm>

#include "gpu/gpu.h"
#include "hardware/hardware.h"

namespace hearth::hardware {

namespace {

constexpr uint64_t kRuntimeBuffers = 300 * kMiB;  // as the fit counts (fit.cpp)

}  // namespace

std::vector<GpuInfo> probe_gpus(std::string* driver, std::string* note) {
  std::string nvml_note;
  std::vector<GpuInfo> nvidia = probe_nvidia_gpus(driver, &nvml_note);
  const gpu::DeviceList vk = gpu::list_devices();
  if (vk.devices.empty()) {
    // No Vulkan device: NVML's GPUs (if any) are still worth showing, but cannot take layers.
    if (note != nullptr) *note = nvidia.empty() ? vk.note + "; " + nvml_note : "Vulkan: " + vk.note;
    return nvidia;
  }
  std::vector<GpuInfo> out;
  for (const gpu::DeviceInfo& d : vk.devices) {
    GpuInfo g;
    g.index = static_cast<unsigned>(d.index);
    g.name = d.name;
    g.vram_total = d.vram_bytes;
    g.vram_free = d.vram_bytes;
    g.vulkan = true;
    g.vendor = d.vendor;
    g.kind = gpu::device_kind_name(d.kind);
    g.cpu_device = d.kind == gpu::DeviceKind::cpu;
    g.subgroup_size = d.subgroup_size;
    g.fp16 = d.fp16;
    g.int8_dot = d.int8_dot;
    const auto same = std::find_if(nvidia.begin(), nvidia.end(),
                                   [&](const GpuInfo& n) { return n.name == d.name; });
    if (same != nvidia.end()) {
      g.vram_free = same->vram_free;
      g.free_measured = true;
      nvidia.erase(same);  // one Vulkan device per NVML GPU
    }
    out.push_back(std::move(g));
  }
  if (note != nullptr) note->clear();
  return out;
}

GpuLayerPlan plan_gpu_layers(const std::vector<GpuInfo>& gpus, std::string_view note,
                             const ModelShape& shape, uint64_t n_cells,
                             uint32_t kv_bytes_per_32_values, uint64_t n_seq,
                             bool allow_cpu_device) {
  GpuLayerPlan plan;
  const GpuInfo* best = nullptr;
  bool cpu_only = false;
  for (const GpuInfo& g : gpus) {
    if (!g.vulkan) continue;
    if (g.cpu_device && !allow_cpu_device) {
      cpu_only = true;
      continue;
    }
    if (best == nullptr || g.vram_free > best->vram_free) best = &g;
  }
  if (best == nullptr) {
    std::string why(note);
    if (cpu_only)
      why = "only a CPU-type Vulkan device; HEARTH_VULKAN_CPU=1 or --gpu-layers all uses it";
    if (why.empty()) why = "no Vulkan device";
    plan.summary = "no GPU found (" + why + "): running on the CPU";
    return plan;
  }
  plan.device = static_cast<int>(best->index);
  const uint64_t kv = kv_cache_bytes_per_block(shape, n_cells, kv_bytes_per_32_values, n_seq);
  const uint64_t total = shape.file_bytes + kv;
  const uint64_t need = total + total / 10 + kRuntimeBuffers;
  const std::string where = best->name + " (" + format_bytes(best->vram_free) + " free)";
  if (need <= best->vram_free) {
    plan.layers = -1;
    plan.summary = "GPU: all " + std::to_string(shape.n_layer) + " layers on " + where +
                   ", needing about " + format_bytes(need);
    return plan;
  }
  const uint64_t per_layer = shape.n_layer == 0 ? 0 : (total + total / 10) / shape.n_layer;
  uint64_t layers = 0;
  if (per_layer > 0 && best->vram_free > kRuntimeBuffers)
    layers = std::min<uint64_t>(shape.n_layer, (best->vram_free - kRuntimeBuffers) / per_layer);
  // All layers fit but not the output matrix and margin as a whole: keep one layer back.
  if (layers >= shape.n_layer) layers = shape.n_layer > 0 ? shape.n_layer - 1 : 0;
  plan.layers = static_cast<int>(layers);
  plan.summary = layers == 0 ? "GPU: no layer fits on " + where + ": running on the CPU"
                             : "GPU: " + std::to_string(layers) + " of " +
                                   std::to_string(shape.n_layer) + " layers on " + where +
                                   ", about " + format_bytes(per_layer) + " per layer";
  if (layers == 0) plan.device = -1;
  return plan;
}

}  // namespace hearth::hardware
