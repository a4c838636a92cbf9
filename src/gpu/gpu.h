// hearth_gpu: compute on any vendor's GPU through Vulkan (DESIGN.md §2, "GPU offload").
//
// The Vulkan loader (libvulkan.so.1) is opened at run time with dlopen, so hearth starts and runs
// on the CPU on a machine without it; no loader, no driver or no device is a normal answer:
// list_devices() returns an empty list and says why in words. Shaders are GLSL compute shaders
// compiled to SPIR-V by glslc at build time and embedded in the binary (shaders.h).
//
// Devices include CPU-type Vulkan implementations (Mesa's lavapipe): they are listed with
// kind == cpu, used only when asked for (a layer count, `all`, or HEARTH_VULKAN_CPU=1), and are
// how the shaders are tested on a machine without a GPU.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hearth::gpu {

enum class DeviceKind { discrete, integrated, virtual_gpu, cpu, other };
const char* device_kind_name(DeviceKind kind);  // "discrete", "integrated", "virtual", "cpu", "other"

struct DeviceInfo {
  int index = 0;                 // position in the list (Vulkan's physical device order)
  std::string name;              // "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)"
  std::string vendor;            // "NVIDIA", "AMD", "Intel", "Mesa", or the PCI vendor id in hex
  uint32_t vendor_id = 0;
  DeviceKind kind = DeviceKind::other;
  std::string driver;            // driver name and version, as the driver reports it
  uint64_t vram_bytes = 0;       // the largest device-local heap
  uint32_t subgroup_size = 0;
  bool fp16 = false;             // shaderFloat16 and 16-bit storage
  bool int8_dot = false;         // VK_KHR_shader_integer_dot_product
  uint32_t compute_queue_family = 0;
};

struct DeviceList {
  std::vector<DeviceInfo> devices;
  std::string note;  // why `devices` is empty (no loader, no driver, no device), in words
};

// Every Vulkan device that has a compute queue. Never throws.
DeviceList list_devices();

class Buffer;

// One opened device: instance, logical device, one compute queue, the pipelines (built on first
// use) and the allocator. Not thread-safe: one Context uses it from one thread at a time.
class Device {
 public:
  virtual ~Device() = default;
  virtual const DeviceInfo& info() const = 0;
  // A device-local storage buffer of `bytes`; Error(out_of_memory) naming the size and the
  // device when the memory is not there.
  virtual std::unique_ptr<Buffer> allocate(uint64_t bytes) = 0;
  // Device-local bytes allocated through this Device, now.
  virtual uint64_t allocated_bytes() const = 0;
};

// Opens device `index` of list_devices(); Error(unavailable) with the reason when it cannot.
std::unique_ptr<Device> open_device(int index);

// Device memory. upload/download are blocking copies through a host-visible staging buffer
// (or direct on devices whose device-local memory is host-visible, as lavapipe's).
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual uint64_t size() const = 0;
  virtual void upload(const void* src, uint64_t bytes, uint64_t offset = 0) = 0;
  virtual void download(void* dst, uint64_t bytes, uint64_t offset = 0) const = 0;
};

// A region of a buffer: what the operations read and write. Offsets are in bytes and a multiple
// of 4 (16 for weight matrices).
struct Span {
  Buffer* buffer = nullptr;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  Span at(uint64_t byte_offset, uint64_t n_bytes) const { return {buffer, offset + byte_offset, n_bytes}; }
};

}  // namespace hearth::gpu
