// Whether a model fits a machine: memory estimate, placement (GPU, split, CPU) and the reasons.
#include <algorithm>
#include <cstdio>

#include "hardware/hardware.h"

namespace hearth::hardware {
namespace {

constexpr uint64_t kRuntimeBuffers = 300 * kMiB;  // compute graph, scratch, tokenizer, threads
constexpr double kMinimumSlack = 0.9;             // a "32 GB" machine reports ~31.3 GiB
constexpr double kTightShare = 0.15;              // leave this share of RAM to everything else

bool meets(uint64_t have, uint64_t minimum) {
  return minimum == 0 || static_cast<double>(have) >= kMinimumSlack * static_cast<double>(minimum);
}

const GpuInfo* most_free(const std::vector<GpuInfo>& gpus) {
  const GpuInfo* best = nullptr;
  for (const auto& g : gpus)
    if (!g.cpu_device && (best == nullptr || g.vram_free > best->vram_free)) best = &g;
  return best;
}

const GpuInfo* largest(const std::vector<GpuInfo>& gpus) {
  const GpuInfo* best = nullptr;
  for (const auto& g : gpus)
    if (!g.cpu_device && (best == nullptr || g.vram_total > best->vram_total)) best = &g;
  return best;
}

bool leaves_little(const MachineInfo& m, uint64_t need) {
  return static_cast<double>(m.ram_available - need) <
         kTightShare * static_cast<double>(m.ram_total);
}

std::string ram_sentence(uint64_t need, uint64_t available) {
  return "needs " + format_bytes(need) + " RAM, " + format_bytes(available) + " available";
}

}  // namespace

std::string_view gpu_need_name(GpuNeed need) {
  switch (need) {
    case GpuNeed::none:
      return "none";
    case GpuNeed::optional:
      return "optional";
    case GpuNeed::recommended:
      return "recommended";
    case GpuNeed::required:
      return "required";
  }
  return "none";
}

std::string_view verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::fits_gpu:
      return "fits_gpu";
    case Verdict::fits_partial_gpu:
      return "fits_partial_gpu";
    case Verdict::fits_cpu:
      return "fits_cpu";
    case Verdict::tight:
      return "tight";
    case Verdict::will_not_fit:
      return "will_not_fit";
  }
  return "will_not_fit";
}

std::string format_bytes(uint64_t bytes) {
  char buf[48];
  if (bytes >= kGiB && bytes % kGiB == 0)
    std::snprintf(buf, sizeof buf, "%llu GB", static_cast<unsigned long long>(bytes / kGiB));
  else if (bytes >= kGiB)
    std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / kGiB);
  else
    std::snprintf(buf, sizeof buf, "%.0f MB", static_cast<double>(bytes) / kMiB);
  return buf;
}

uint64_t kv_cache_bytes(const ModelShape& shape, uint64_t n_cells, uint32_t bytes_per_value,
                        uint64_t n_seq) {
  return kv_cache_bytes_per_block(shape, n_cells, 32 * bytes_per_value, n_seq);
}

uint64_t kv_cache_bytes_per_block(const ModelShape& shape, uint64_t n_cells,
                                  uint32_t bytes_per_32_values, uint64_t n_seq) {
  const uint64_t n_swa = shape.swa_window > 0 ? std::min(shape.n_layer_swa, shape.n_layer) : 0;
  const uint64_t swa_cells =
      std::min(n_cells, std::max<uint64_t>(n_seq, 1) * shape.swa_window + kSwaBatchCells);
  const uint64_t layer_cells = (shape.n_layer - n_swa) * n_cells + n_swa * swa_cells;
  return uint64_t{2} * layer_cells * shape.n_head_kv * shape.head_dim * bytes_per_32_values / 32;
}

MemoryEstimate estimate_memory(const ModelShape& shape, uint32_t n_ctx) {
  MemoryEstimate e;
  e.weights = shape.file_bytes;
  e.kv_cache = kv_cache_bytes(shape, n_ctx);
  e.overhead = kRuntimeBuffers + (e.weights + e.kv_cache) / 10;
  e.total = e.weights + e.kv_cache + e.overhead;
  return e;
}

FitResult assess_fit(const MachineInfo& m, const ModelShape& shape, const Requirements& req,
                     const FitOptions& options) {
  FitResult r;
  r.memory = estimate_memory(shape, options.n_ctx);
  const uint64_t need = r.memory.total;
  std::vector<std::string> problems;

  // The catalog's own minimums.
  if (!meets(m.ram_total, req.min_ram))
    problems.push_back("needs at least " + format_bytes(req.min_ram) +
                       " RAM (catalog minimum), this machine has " + format_bytes(m.ram_total));
  const GpuInfo* big = largest(m.gpus);
  const bool gpu_big_enough = big != nullptr && meets(big->vram_total, req.min_vram);
  if (req.gpu == GpuNeed::required && !gpu_big_enough) {
    const std::string want = req.min_vram > 0 ? "a GPU with " + format_bytes(req.min_vram) + " VRAM"
                                              : std::string("a GPU");
    problems.push_back(big == nullptr ? "needs " + want + ", none found"
                                      : "needs " + want + ", the largest found (" + big->name +
                                            ") has " + format_bytes(big->vram_total));
  }
  if (!options.already_on_disk) {
    const uint64_t disk = std::max(shape.file_bytes, req.min_disk);
    if (m.disk_free < disk)
      problems.push_back("needs " + format_bytes(disk) + " of disk, " + format_bytes(m.disk_free) +
                         " free at " + m.disk_path.string());
  }

  // Where it would run.
  std::string placement;
  bool placed = false;
  const GpuInfo* gpu = most_free(m.gpus);
  const bool gpu_usable = gpu != nullptr && (req.gpu != GpuNeed::required || gpu_big_enough);
  if (gpu_usable && need <= gpu->vram_free) {
    r.verdict = Verdict::fits_gpu;
    r.gpu_layers = shape.n_layer;
    r.gpu_index = static_cast<int>(gpu->index);
    placement = "runs fully on " + gpu->name + ": needs " + format_bytes(need) + " VRAM, " +
                format_bytes(gpu->vram_free) + " free";
    placed = true;
  } else if (gpu_usable && shape.n_layer > 0 && gpu->vram_free > kRuntimeBuffers) {
    const uint64_t per_layer = (r.memory.weights + r.memory.kv_cache) / shape.n_layer;
    const uint64_t layers =
        per_layer == 0
            ? 0
            : std::min<uint64_t>(shape.n_layer, (gpu->vram_free - kRuntimeBuffers) / per_layer);
    const uint64_t ram_need = need - layers * per_layer;
    if (layers > 0 && ram_need <= m.ram_available) {
      r.verdict = leaves_little(m, ram_need) ? Verdict::tight : Verdict::fits_partial_gpu;
      r.gpu_layers = static_cast<uint32_t>(layers);
      r.gpu_index = static_cast<int>(gpu->index);
      placement = std::to_string(layers) + " of " + std::to_string(shape.n_layer) + " layers on " +
                  gpu->name + " (" + format_bytes(gpu->vram_free) + " VRAM free), the rest " +
                  ram_sentence(ram_need, m.ram_available);
      if (r.verdict == Verdict::tight) placement += ": leaves less than 15% of RAM free";
      placed = true;
    }
  }
  if (!placed && req.gpu != GpuNeed::required && need <= m.ram_available) {
    r.verdict = leaves_little(m, need) ? Verdict::tight : Verdict::fits_cpu;
    placement = "runs on the CPU: " + ram_sentence(need, m.ram_available);
    if (r.verdict == Verdict::tight) placement += ": leaves less than 15% of RAM free";
    placed = true;
  }
  if (!placed && req.gpu != GpuNeed::required) {
    problems.push_back(ram_sentence(need, m.ram_available));
  } else if (!placed && gpu_usable) {
    problems.push_back("needs " + format_bytes(need) + " of VRAM and RAM together, " +
                       format_bytes(gpu->vram_free) + " VRAM free and " +
                       format_bytes(m.ram_available) + " RAM available");
  }

  if (!problems.empty() || !placed) {
    r.verdict = Verdict::will_not_fit;
    r.gpu_layers = 0;
    r.gpu_index = -1;
    r.reasons = std::move(problems);
    return r;
  }
  r.reasons.push_back(std::move(placement));
  const bool on_cpu =
      r.verdict == Verdict::fits_cpu || (r.verdict == Verdict::tight && r.gpu_layers == 0);
  if (req.gpu == GpuNeed::recommended && on_cpu)
    r.reasons.push_back(
        "a GPU" +
        (req.min_vram > 0 ? " with " + format_bytes(req.min_vram) + " VRAM" : std::string()) +
        " is recommended; on the CPU it runs slowly");
  return r;
}

}  // namespace hearth::hardware
