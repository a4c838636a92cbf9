// hearth_gpu without the Vulkan runtime: no device is listed, and nothing can open one. Used by
// the build only while src/gpu has no implementation of its own (CMakeLists.txt).
#include "core/error.h"
#include "gpu/gpu.h"
#include "gpu/ops.h"

namespace hearth::gpu {

const char* device_kind_name(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::discrete: return "discrete";
    case DeviceKind::integrated: return "integrated";
    case DeviceKind::virtual_gpu: return "virtual";
    case DeviceKind::cpu: return "cpu";
    case DeviceKind::other: return "other";
  }
  return "other";
}

DeviceList list_devices() { return {{}, "this build has no Vulkan support"}; }

std::unique_ptr<Device> open_device(int) {
  throw Error(ErrorKind::unavailable, "this build has no Vulkan support");
}

bool supports(TensorType) { return false; }

struct Commands::State {};
Commands::Commands(Device&) { throw Error(ErrorKind::unavailable, "this build has no Vulkan support"); }
Commands::~Commands() = default;
void Commands::matmul(const Matrix&, Span, int64_t, Span) {}
void Commands::matmul_experts(const Matrix&, uint64_t, Span, Span, int64_t, int, Span) {}
void Commands::rmsnorm(Span, Span, Span, int64_t, int, float) {}
void Commands::rope(Span, int64_t, int, int, int64_t, Rope, Span, Span) {}
void Commands::add(Span, Span, Span, int64_t) {}
void Commands::add_bias(Span, Span, int64_t, int, int64_t) {}
void Commands::add_scaled_rows(Span, Span, Span, int64_t, int64_t, float) {}
void Commands::copy_rows(Span, int64_t, Span, int64_t, int64_t, int64_t) {}
void Commands::swiglu(Span, Span, Span, int64_t, int, int64_t) {}
void Commands::geglu(Span, Span, Span, int64_t, int, int64_t) {}
void Commands::kv_store(Span, int64_t, Span, int64_t, int, Span, int64_t, KvCells) {}
void Commands::attention(Span, Span, int64_t, int, int, int, float, Span, Span, int64_t, KvCells,
                         Span, Span, Span, Span) {}
void Commands::route_experts(Span, int64_t, int, int, Span, Span) {}
void Commands::combine_experts(Span, Span, int64_t, int, int, Span) {}
void Commands::run() {}

}  // namespace hearth::gpu
