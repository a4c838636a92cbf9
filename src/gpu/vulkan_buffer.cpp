// VulkanBuffer: device-local storage with blocking uploads and downloads.
//
// Mapped devices copy with memcpy. Others copy through a host-visible staging buffer in pieces of
// at most kStagingBytes, so a multi-gigabyte weight upload needs no equal amount of extra memory.
#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "gpu/vulkan_device.h"

namespace hearth::gpu {

namespace {

constexpr uint64_t kStagingBytes = 64ull << 20;

uint64_t round_up(uint64_t n, uint64_t to) {
  return (n + to - 1) / to * to;
}

// A host-visible buffer for one copy, freed with it.
struct Staging {
  VulkanDevice& device;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  void* mapped = nullptr;
  Staging(VulkanDevice& d, uint64_t bytes) : device(d) {
    d.create_buffer(bytes, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                    d.staging_type(), &buffer, &memory);
    const VkResult r = d.api().vkMapMemory(d.device(), memory, 0, VK_WHOLE_SIZE, 0, &mapped);
    if (r != VK_SUCCESS) {
      release();
      check_vk(r, "vkMapMemory (staging)");
    }
  }
  ~Staging() { release(); }
  void release() {
    if (buffer != VK_NULL_HANDLE) device.api().vkDestroyBuffer(device.device(), buffer, nullptr);
    if (memory != VK_NULL_HANDLE) device.api().vkFreeMemory(device.device(), memory, nullptr);
    buffer = VK_NULL_HANDLE;
    memory = VK_NULL_HANDLE;
  }
};

}  // namespace

VulkanBuffer::VulkanBuffer(VulkanDevice& device, uint64_t bytes) : device_(device), size_(bytes) {
  capacity_ = round_up(std::max<uint64_t>(bytes, 16), 16);
  device.create_buffer(capacity_,
                       VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                       device.device_type(), &buffer_, &memory_);
  if (device.device_mappable()) {
    const VkResult r =
        device.api().vkMapMemory(device.device(), memory_, 0, VK_WHOLE_SIZE, 0, &mapped_);
    if (r != VK_SUCCESS) {
      device.api().vkDestroyBuffer(device.device(), buffer_, nullptr);
      device.api().vkFreeMemory(device.device(), memory_, nullptr);
      check_vk(r, "vkMapMemory");
    }
  }
  device.track(static_cast<int64_t>(capacity_));
}

VulkanBuffer::~VulkanBuffer() {
  device_.api().vkDestroyBuffer(device_.device(), buffer_, nullptr);
  device_.api().vkFreeMemory(device_.device(), memory_, nullptr);
  device_.track(-static_cast<int64_t>(capacity_));
}

void VulkanBuffer::check_range(uint64_t bytes, uint64_t offset, const char* what) const {
  if (offset > size_ || bytes > size_ - offset)
    throw Error(ErrorKind::invalid_input,
                std::string("GPU buffer ") + what + " of " + std::to_string(bytes) + " bytes at " +
                    std::to_string(offset) + " is outside its " + std::to_string(size_) + " bytes");
}

void VulkanBuffer::upload(const void* src, uint64_t bytes, uint64_t offset) {
  check_range(bytes, offset, "upload");
  if (bytes == 0) return;
  if (mapped_ != nullptr) {
    std::memcpy(static_cast<char*>(mapped_) + offset, src, bytes);
    return;
  }
  Staging staging(device_, std::min(bytes, kStagingBytes));
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min(bytes - done, kStagingBytes);
    std::memcpy(staging.mapped, static_cast<const char*>(src) + done, n);
    device_.run_once([&](VkCommandBuffer cb) {
      VkBufferCopy copy{0, offset + done, n};
      device_.api().vkCmdCopyBuffer(cb, staging.buffer, buffer_, 1, &copy);
    });
    done += n;
  }
}

void VulkanBuffer::download(void* dst, uint64_t bytes, uint64_t offset) const {
  check_range(bytes, offset, "download");
  if (bytes == 0) return;
  if (mapped_ != nullptr) {
    std::memcpy(dst, static_cast<const char*>(mapped_) + offset, bytes);
    return;
  }
  Staging staging(device_, std::min(bytes, kStagingBytes));
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min(bytes - done, kStagingBytes);
    device_.run_once([&](VkCommandBuffer cb) {
      VkBufferCopy copy{offset + done, 0, n};
      device_.api().vkCmdCopyBuffer(cb, buffer_, staging.buffer, 1, &copy);
      // The copy's writes must be visible to the host once the fence signals.
      VkMemoryBarrier barrier{};
      barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
      barrier.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
      barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
      device_.api().vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_TRANSFER_BIT,
                                         VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr, 0,
                                         nullptr);
    });
    std::memcpy(static_cast<char*>(dst) + done, staging.mapped, n);
    done += n;
  }
}

}  // namespace hearth::gpu
