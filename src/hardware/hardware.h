// hearth_hardware: what this machine has, and whether a model fits on it (DESIGN.md §2).
//
// probe() reads the machine once per call:
//   cores        /proc/cpuinfo ("processor" lines; distinct (physical id, core id) pairs)
//   CPU family   CPUID leaves 0 and 1, named by cpu_name.h's table ("Zen 5")
//   SIMD         core/cpu_features.h
//   RAM          /proc/meminfo MemTotal and MemAvailable
//   disk         statvfs() on HEARTH_HOME, or its nearest existing parent
//   OS           uname() and /etc/os-release PRETTY_NAME
//   GPUs         every Vulkan device (hearth_gpu's list: name, vendor, kind, VRAM, subgroup size,
//                fp16, int8 dot), with free memory from NVML (loaded at run time with
//                dlopen("libnvidia-ml.so.1")) for NVIDIA cards where it answers; without a
//                Vulkan loader, NVML's list alone. No library, no driver or no device is a normal
//                answer: an empty list and a note.
// The parsers take file contents, so tests feed sample text; assess_fit() takes a MachineInfo
// value, so tests build machines by hand.
//
// Fit: memory = weights (the GGUF file size) + KV cache + overhead, where
//   KV cache = 2 (K and V) × n_layer × n_ctx × n_head_kv × head_dim × 2 bytes (F16 cells), with
//              a sliding-window layer counting min(n_ctx, window + 512) cells (kv_cache_bytes)
//   overhead = 300 MiB of runtime buffers + 10% of (weights + KV cache)
// checked against free VRAM, available RAM and free disk, and against the catalog's own minimums
// (a machine meets a minimum of "N GB" when it has at least 90% of N GiB, since a "32 GB" machine
// reports a little less than 32 GiB). "GB" in every message means 2^30 bytes, as RAM is sold and as
// `free -g` counts it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/cpu_name.h"

namespace hearth::hardware {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kMiB = uint64_t{1} << 20;

struct GpuInfo {
  unsigned index = 0;       // the Vulkan device index (`--gpu-device`); NVML's without Vulkan
  std::string name;         // "NVIDIA GeForce RTX 4090"
  uint64_t vram_total = 0;  // bytes
  uint64_t vram_free = 0;   // bytes (measured by NVML, else vram_total)
  bool vulkan = false;      // listed by Vulkan (usable for GPU layers)
  std::string vendor = {};  // "NVIDIA", "AMD", "Intel", "Mesa", ...
  std::string kind = {};    // "discrete", "integrated", "virtual", "cpu", "other"
  bool cpu_device = false;  // a CPU-type Vulkan device (lavapipe): no real VRAM, never in the fit
  uint32_t subgroup_size = 0;
  bool fp16 = false;
  bool int8_dot = false;
  bool free_measured = false;  // vram_free came from NVML
};

struct MachineInfo {
  std::string cpu_model;            // "Intel(R) Xeon(R) ...", empty when unknown
  CpuId cpu_id;                     // vendor, family, model, stepping (cpu_name.h)
  unsigned logical_cores = 0;       // hardware threads
  unsigned physical_cores = 0;      // cores (hyper-threads counted once)
  std::vector<std::string> simd;    // "avx2", "fma", ... (empty on baseline x86-64)
  uint64_t ram_total = 0;           // bytes
  uint64_t ram_available = 0;       // bytes the kernel can hand out without swapping
  std::filesystem::path disk_path;  // the folder whose file system was measured
  uint64_t disk_free = 0;           // bytes available to this user there
  std::string os_name;              // "Debian GNU/Linux 12 (bookworm)"
  std::string kernel;               // "Linux 6.1.0-18-amd64"
  std::string arch;                 // "x86_64"
  std::vector<GpuInfo> gpus;        // Vulkan devices (or NVML's GPUs); empty when none (gpu_note)
  std::string gpu_driver;           // NVIDIA driver version, when NVML answered
  std::string gpu_note;             // why `gpus` is empty, in words; empty otherwise
};

// Reads this machine. Never throws for a missing /proc file, library or device: the field stays
// zero or empty.
MachineInfo probe();

// The machine as one JSON object (keys: cpu_model, cpuid {vendor, family, model, stepping,
// microarchitecture, description}, logical_cores, physical_cores, simd,
// ram_total_bytes, ram_available_bytes, disk_path, disk_free_bytes, os, kernel, arch,
// gpus [{index, name, vram_total_bytes, vram_free_bytes, vram_free_measured, vulkan, vendor, kind,
// cpu_device, subgroup_size, fp16, int8_dot}], gpu_driver, gpu_note).
std::string to_json(const MachineInfo& machine);

// --- parsers (file contents in, values out) ---

struct MemoryInfo {
  uint64_t total = 0;      // bytes
  uint64_t available = 0;  // bytes
};
// /proc/meminfo. Uses MemAvailable, or MemFree + Buffers + Cached on kernels without it.
// Error(corrupt_file) when MemTotal is missing or a value is not a number.
MemoryInfo parse_meminfo(std::string_view text);
// This machine's /proc/meminfo; zeros where it cannot be read (not Linux, /proc hidden).
MemoryInfo read_meminfo();

struct CpuInfo {
  std::string model;
  unsigned logical = 0;
  unsigned physical = 0;  // distinct (physical id, core id); equals logical when not given
};
// /proc/cpuinfo (x86 and ARM layouts).
CpuInfo parse_cpuinfo(std::string_view text);

// /etc/os-release: the PRETTY_NAME value without quotes; empty when absent.
std::string parse_os_release(std::string_view text);

// Free bytes for this user on the file system holding `where`, measured at its nearest existing
// parent (written to *measured when given). 0 when nothing along the path exists.
uint64_t free_disk_bytes(const std::filesystem::path& where,
                         std::filesystem::path* measured = nullptr);

// NVIDIA GPUs through NVML. An empty list when the library or a device is missing, with the reason
// in *note; the driver version in *driver when NVML answered.
std::vector<GpuInfo> probe_nvidia_gpus(std::string* driver, std::string* note);
// Vulkan's devices, each NVIDIA one given NVML's free memory where NVML lists a GPU of the same
// name; without any Vulkan device, NVML's list. *note says why the list is empty or what is
// missing (no Vulkan loader, no NVML). Never throws.
std::vector<GpuInfo> probe_gpus(std::string* driver, std::string* note);

// --- fit ---

// How much a model relies on a GPU, as its catalog entry says.
enum class GpuNeed {
  none,         // runs well on a CPU
  optional,     // a GPU helps; the CPU is fine
  recommended,  // runs on a CPU, slowly
  required,     // will not run acceptably without a GPU of min_vram
};
std::string_view gpu_need_name(GpuNeed need);  // "none", "optional", "recommended", "required"

enum class Verdict {
  fits_gpu,          // weights, KV cache and buffers fit in one GPU's free VRAM
  fits_partial_gpu,  // some layers on the GPU, the rest in RAM
  fits_cpu,          // fits in available RAM with room to spare
  tight,             // fits, but leaves less than 15% of RAM for everything else
  will_not_fit,      // see the reasons
};
std::string_view verdict_name(Verdict verdict);  // "fits_gpu", ...
inline bool fits(Verdict verdict) {
  return verdict != Verdict::will_not_fit;
}

// What the fit needs to know about a model file: from a GGUF's shape (the engine's
// model::describe, as the file states it) or the catalog.
struct ModelShape {
  uint64_t file_bytes = 0;  // the GGUF file size (weights as stored)
  uint32_t n_layer = 0;     // <arch>.block_count
  uint32_t n_head_kv = 0;   // <arch>.attention.head_count_kv
  uint32_t head_dim = 0;    // <arch>.attention.key_length, else embedding_length / head_count
  // Sliding-window layers (gemma3): n_layer_swa of the n_layer layers keep only the last
  // swa_window positions of each sequence (0, 0: none).
  uint32_t n_layer_swa = 0;
  uint32_t swa_window = 0;
};

// A catalog entry's own minimums; zero means none.
struct Requirements {
  uint64_t min_ram = 0;   // bytes of RAM the machine should have in total
  uint64_t min_vram = 0;  // bytes of VRAM on one GPU (needed when gpu == required)
  uint64_t min_disk = 0;  // bytes of free disk the download and its files need
  GpuNeed gpu = GpuNeed::none;
};

struct MemoryEstimate {
  uint64_t weights = 0;
  uint64_t kv_cache = 0;
  uint64_t overhead = 0;
  uint64_t total = 0;
};
// The one KV-cache size rule (the fit check, the server's memory budget and `hearth bench` all
// use it): K and V, for every layer and cell, n_head_kv × head_dim values of
// `bytes_per_value` bytes (2: F16, the server's cache; 4: F32).
// 2 × n_layer × n_cells × n_head_kv × head_dim × bytes_per_value.
// A sliding-window layer counts min(n_cells, n_seq × swa_window + kSwaBatchCells) cells instead
// of n_cells: the engine keeps each of the n_seq sequences' window there, plus room for one batch
// of new tokens (the engine's KvCache::kLocalBatchCells), and reuses the cells beyond.
constexpr uint64_t kSwaBatchCells = 512;
uint64_t kv_cache_bytes(const ModelShape& shape, uint64_t n_cells, uint32_t bytes_per_value = 2,
                        uint64_t n_seq = 1);
// The same for a cache type given as bytes per block of 32 values (128 F32, 64 F16, 34 Q8_0:
// 32 codes and an F16 scale), so block-quantized caches count exactly.
uint64_t kv_cache_bytes_per_block(const ModelShape& shape, uint64_t n_cells,
                                  uint32_t bytes_per_32_values, uint64_t n_seq = 1);
MemoryEstimate estimate_memory(const ModelShape& shape, uint32_t n_ctx);

struct FitResult {
  Verdict verdict = Verdict::will_not_fit;
  std::vector<std::string> reasons;  // sentences: every failed check, or how it fits
  MemoryEstimate memory;
  uint32_t gpu_layers = 0;  // layers placed on the GPU (all of them for fits_gpu)
  int gpu_index = -1;       // the GPU used, or -1
};

struct FitOptions {
  uint32_t n_ctx = 4096;
  bool already_on_disk = false;  // skip the free-disk check (the file is downloaded)
};

// The verdict for one model on one machine. Pure: no probing, no I/O.
FitResult assess_fit(const MachineInfo& machine, const ModelShape& shape,
                     const Requirements& requirements, const FitOptions& options);

// --- GPU layers (`--gpu-layers auto`) ---

// Where `auto` puts a model's layers: 0 (the CPU), -1 (every layer and the output) or the last
// `layers` layers, on Vulkan device `device`; `summary` says what was chosen and why, in one line.
struct GpuLayerPlan {
  int layers = 0;
  int device = -1;
  std::string summary;
};
// The GPU with the most free memory (a CPU-type Vulkan device only when allow_cpu_device,
// HEARTH_VULKAN_CPU=1) takes as many of the last layers as fit with their KV cache and a margin
// (the fit's formulas: per layer, its share of the weights and the cache plus 10%, and 300 MiB of
// runtime buffers); every layer when the whole model fits. No usable device: layers = 0 and the
// summary reads "no GPU found (<why>): running on the CPU". `note` is probe_gpus()'s. Pure.
GpuLayerPlan plan_gpu_layers(const std::vector<GpuInfo>& gpus, std::string_view note,
                             const ModelShape& shape, uint64_t n_cells,
                             uint32_t kv_bytes_per_32_values, uint64_t n_seq,
                             bool allow_cpu_device);

// "20.1 GB" (one decimal, GB = 2^30 bytes); "512 MB" below 1 GB.
std::string format_bytes(uint64_t bytes);

}  // namespace hearth::hardware
