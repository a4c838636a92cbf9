// Vulkan instances and physical-device descriptions, shared by list_devices() and open_device()
// so both see the same devices in the same order (internal to src/gpu).
#pragma once

#include <string>
#include <vector>

#include "gpu/gpu.h"
#include "gpu/vulkan_api.h"

namespace hearth::gpu {

// A Vulkan instance (API 1.2 requested, 1.1 needed) and its functions; destroyed with it.
struct Instance {
  VkInstance handle = VK_NULL_HANDLE;
  vk::InstanceApi api;
  Instance() = default;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  ~Instance();
};

// Creates the instance; false with `why` in words when there is no loader or driver.
bool open_instance(Instance& instance, std::string* why);
// The physical devices; false with `why` when there are none.
bool physical_devices(const Instance& instance, std::vector<VkPhysicalDevice>& out,
                      std::string* why);
// Fills d (all but index) from the device; false when it has no compute queue.
bool describe_device(const vk::InstanceApi& api, VkPhysicalDevice pd, DeviceInfo& d);

}  // namespace hearth::gpu
