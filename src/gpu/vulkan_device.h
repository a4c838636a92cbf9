// The Vulkan objects behind gpu::Device and gpu::Buffer (internal to src/gpu).
//
// One VulkanDevice owns its own instance, a logical device with one compute queue, a command
// pool, a pipeline cache and the compute pipelines (built on first use, kept for its lifetime).
// Memory: device-local storage buffers; uploads and downloads go through host-visible staging
// memory, or straight through a mapping when the device-local memory is host-visible (lavapipe,
// integrated GPUs, resizable-BAR cards).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

#include "gpu/device_probe.h"
#include "gpu/gpu.h"
#include "gpu/vulkan_api.h"

namespace hearth::gpu {

// Throws Error(internal) naming `what` and the result when r is not VK_SUCCESS.
void check_vk(VkResult r, const char* what);

// A compute pipeline of one shader: storage buffers at bindings 0..n_buffers-1 of set 0 and up
// to kPushBytes of push constants.
struct Pipeline {
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  uint32_t n_buffers = 0;
};

inline constexpr uint32_t kPushBytes = 128;  // the minimum every Vulkan device allows

class VulkanBuffer;

class VulkanDevice final : public Device {
 public:
  // Opens `physical` (described by `info`) of `instance`, taking the instance over; throws
  // Error(unavailable) when it cannot.
  VulkanDevice(std::unique_ptr<Instance> instance, VkPhysicalDevice physical,
               const DeviceInfo& info);
  ~VulkanDevice() override;

  const DeviceInfo& info() const override { return info_; }
  std::unique_ptr<Buffer> allocate(uint64_t bytes) override;
  uint64_t allocated_bytes() const override { return allocated_; }

  const vk::DeviceApi& api() const { return api_; }
  VkDevice device() const { return device_; }
  VkQueue queue() const { return queue_; }
  VkCommandPool command_pool() const { return command_pool_; }
  uint64_t storage_alignment() const { return storage_alignment_; }
  uint64_t max_binding_range() const { return max_binding_range_; }
  uint32_t max_groups_x() const { return max_groups_x_; }

  // The pipeline of shader `name` with n_buffers bindings, built on first use.
  const Pipeline& pipeline(const std::string& name, uint32_t n_buffers);

  // Records with `fill` into a one-time command buffer, submits it and waits (copies).
  template <typename F>
  void run_once(F&& fill);

  // Internal bookkeeping of VulkanBuffer.
  void track(int64_t delta) {
    allocated_ = static_cast<uint64_t>(static_cast<int64_t>(allocated_) + delta);
  }
  // A buffer and its memory of `bytes` with `usage`, in memory type `type`.
  void create_buffer(uint64_t bytes, VkBufferUsageFlags usage, uint32_t type, VkBuffer* buffer,
                     VkDeviceMemory* memory);
  uint32_t device_type() const { return device_type_; }
  uint32_t staging_type() const { return staging_type_; }
  bool device_mappable() const { return device_mappable_; }

 private:
  void release();              // destroys every Vulkan object made so far
  void save_pipeline_cache();  // into the process's cache (see vulkan_device.cpp)
  void begin_one_time(VkCommandBuffer* cb);
  void submit_and_wait(VkCommandBuffer cb);

  DeviceInfo info_;
  std::unique_ptr<Instance> instance_;
  vk::DeviceApi api_;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  uint32_t device_type_ = 0;      // device-local memory type
  uint32_t staging_type_ = 0;     // host-visible, host-coherent memory type
  bool device_mappable_ = false;  // device_type_ is also host-visible and coherent
  uint64_t storage_alignment_ = 16;
  uint64_t max_binding_range_ = 0;
  uint32_t max_groups_x_ = 65535;
  uint64_t allocated_ = 0;
  std::map<std::string, Pipeline> pipelines_;
  int pipelines_built_ = 0;
  std::string cache_key_;  // the driver's pipelineCacheUUID and the device name
};

template <typename F>
void VulkanDevice::run_once(F&& fill) {
  VkCommandBuffer cb = VK_NULL_HANDLE;
  begin_one_time(&cb);
  fill(cb);
  submit_and_wait(cb);
}

// A device-local storage buffer (rounded up to 16 bytes so shaders may read whole words).
class VulkanBuffer final : public Buffer {
 public:
  VulkanBuffer(VulkanDevice& device, uint64_t bytes);
  ~VulkanBuffer() override;
  uint64_t size() const override { return size_; }
  void upload(const void* src, uint64_t bytes, uint64_t offset) override;
  void download(void* dst, uint64_t bytes, uint64_t offset) const override;

  VkBuffer handle() const { return buffer_; }
  uint64_t capacity() const { return capacity_; }

 private:
  void check_range(uint64_t bytes, uint64_t offset, const char* what) const;

  VulkanDevice& device_;
  uint64_t size_ = 0;
  uint64_t capacity_ = 0;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  void* mapped_ = nullptr;
};

}  // namespace hearth::gpu
