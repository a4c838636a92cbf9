// NVIDIA GPUs through NVML, loaded at run time so the binary runs on machines without the driver.
// Only the handful of NVML entry points below are used; their C signatures are declared here
// (from NVML's public nvml.h) so no CUDA headers are needed to build.
#include <dlfcn.h>

#include <string>

#include "hardware/hardware.h"

namespace hearth::hardware {
namespace {

using NvmlReturn = int;  // nvmlReturn_t; 0 is NVML_SUCCESS
using NvmlDevice = struct NvmlDeviceOpaque*;
struct NvmlMemory {  // nvmlMemory_t
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

using InitFn = NvmlReturn (*)();
using ShutdownFn = NvmlReturn (*)();
using CountFn = NvmlReturn (*)(unsigned*);
using HandleFn = NvmlReturn (*)(unsigned, NvmlDevice*);
using NameFn = NvmlReturn (*)(NvmlDevice, char*, unsigned);
using MemoryFn = NvmlReturn (*)(NvmlDevice, NvmlMemory*);
using DriverFn = NvmlReturn (*)(char*, unsigned);
using ErrorStringFn = const char* (*)(NvmlReturn);

// Closes the library when the probe is done (NVML keeps no state we need afterwards).
class Library {
 public:
  explicit Library(const char* name) : handle_(dlopen(name, RTLD_NOW | RTLD_LOCAL)) {}
  ~Library() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  explicit operator bool() const { return handle_ != nullptr; }

  template <typename Fn>
  Fn find(const char* name, const char* fallback = nullptr) const {
    void* sym = dlsym(handle_, name);
    if (sym == nullptr && fallback != nullptr) sym = dlsym(handle_, fallback);
    return reinterpret_cast<Fn>(sym);
  }

 private:
  void* handle_;
};

}  // namespace

std::vector<GpuInfo> probe_nvidia_gpus(std::string* driver, std::string* note) {
  std::vector<GpuInfo> gpus;
  auto say = [&](std::string text) {
    if (note != nullptr) *note = std::move(text);
  };
  Library nvml("libnvidia-ml.so.1");
  if (!nvml) {
    say("no NVIDIA GPU: the NVIDIA driver library (libnvidia-ml.so.1) is not installed");
    return gpus;
  }
  auto init = nvml.find<InitFn>("nvmlInit_v2", "nvmlInit");
  auto shutdown = nvml.find<ShutdownFn>("nvmlShutdown");
  auto count_fn = nvml.find<CountFn>("nvmlDeviceGetCount_v2", "nvmlDeviceGetCount");
  auto handle_fn =
      nvml.find<HandleFn>("nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex");
  auto name_fn = nvml.find<NameFn>("nvmlDeviceGetName");
  auto memory_fn = nvml.find<MemoryFn>("nvmlDeviceGetMemoryInfo");
  auto driver_fn = nvml.find<DriverFn>("nvmlSystemGetDriverVersion");
  auto error_fn = nvml.find<ErrorStringFn>("nvmlErrorString");
  if (init == nullptr || shutdown == nullptr || count_fn == nullptr || handle_fn == nullptr ||
      memory_fn == nullptr) {
    say("no NVIDIA GPU: libnvidia-ml.so.1 lacks the functions hearth needs (driver too old?)");
    return gpus;
  }
  auto error_text = [&](NvmlReturn r) {
    const char* s = error_fn != nullptr ? error_fn(r) : nullptr;
    return s != nullptr ? std::string(s) : "error " + std::to_string(r);
  };
  if (NvmlReturn r = init(); r != 0) {
    say("no NVIDIA GPU: NVML did not start (" + error_text(r) + ")");
    return gpus;
  }
  if (driver_fn != nullptr && driver != nullptr) {
    char version[96] = {};
    if (driver_fn(version, sizeof version) == 0) *driver = version;
  }
  unsigned count = 0;
  if (NvmlReturn r = count_fn(&count); r != 0) {
    say("no NVIDIA GPU: NVML could not count devices (" + error_text(r) + ")");
    count = 0;
  }
  for (unsigned i = 0; i < count; ++i) {
    NvmlDevice device = nullptr;
    if (handle_fn(i, &device) != 0) continue;
    GpuInfo gpu;
    gpu.index = i;
    char name[256] = {};
    if (name_fn != nullptr && name_fn(device, name, sizeof name) == 0) gpu.name = name;
    if (gpu.name.empty()) gpu.name = "NVIDIA GPU " + std::to_string(i);
    NvmlMemory memory{};
    if (memory_fn(device, &memory) == 0) {
      gpu.vram_total = memory.total;
      gpu.vram_free = memory.free;
    }
    gpus.push_back(std::move(gpu));
  }
  shutdown();
  if (gpus.empty() && count == 0 && (note == nullptr || note->empty()))
    say("no NVIDIA GPU: the driver is installed but reports no devices");
  return gpus;
}

}  // namespace hearth::hardware
