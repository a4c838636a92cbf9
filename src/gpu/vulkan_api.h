// The Vulkan entry points hearth uses, fetched at run time (internal to src/gpu).
//
// libvulkan.so.1 is opened with dlopen, never linked, so the hearth binary starts on machines
// without a Vulkan loader. vkGetInstanceProcAddr gives the global and instance-level functions;
// vkGetDeviceProcAddr the device-level ones (dispatched straight to the driver).
#pragma once

#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include <string>

namespace hearth::gpu::vk {

// Functions that need no instance.
#define HEARTH_VK_GLOBAL(X) \
  X(vkCreateInstance)       \
  X(vkEnumerateInstanceVersion)

// Functions fetched with an instance.
#define HEARTH_VK_INSTANCE(X)                 \
  X(vkDestroyInstance)                        \
  X(vkEnumeratePhysicalDevices)               \
  X(vkGetPhysicalDeviceProperties)            \
  X(vkGetPhysicalDeviceProperties2)           \
  X(vkGetPhysicalDeviceFeatures2)             \
  X(vkGetPhysicalDeviceMemoryProperties)      \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkEnumerateDeviceExtensionProperties)     \
  X(vkCreateDevice)                           \
  X(vkGetDeviceProcAddr)

// Functions fetched with a device.
#define HEARTH_VK_DEVICE(X)        \
  X(vkDestroyDevice)               \
  X(vkGetDeviceQueue)              \
  X(vkDeviceWaitIdle)              \
  X(vkCreateBuffer)                \
  X(vkDestroyBuffer)               \
  X(vkGetBufferMemoryRequirements) \
  X(vkAllocateMemory)              \
  X(vkFreeMemory)                  \
  X(vkBindBufferMemory)            \
  X(vkMapMemory)                   \
  X(vkUnmapMemory)                 \
  X(vkCreateCommandPool)           \
  X(vkDestroyCommandPool)          \
  X(vkAllocateCommandBuffers)      \
  X(vkFreeCommandBuffers)          \
  X(vkBeginCommandBuffer)          \
  X(vkEndCommandBuffer)            \
  X(vkResetCommandBuffer)          \
  X(vkCmdBindPipeline)             \
  X(vkCmdBindDescriptorSets)       \
  X(vkCmdPushConstants)            \
  X(vkCmdDispatch)                 \
  X(vkCmdPipelineBarrier)          \
  X(vkCmdCopyBuffer)               \
  X(vkQueueSubmit)                 \
  X(vkCreateFence)                 \
  X(vkDestroyFence)                \
  X(vkWaitForFences)               \
  X(vkResetFences)                 \
  X(vkCreateShaderModule)          \
  X(vkDestroyShaderModule)         \
  X(vkCreateDescriptorSetLayout)   \
  X(vkDestroyDescriptorSetLayout)  \
  X(vkCreatePipelineLayout)        \
  X(vkDestroyPipelineLayout)       \
  X(vkCreateComputePipelines)      \
  X(vkDestroyPipeline)             \
  X(vkCreatePipelineCache)         \
  X(vkDestroyPipelineCache)        \
  X(vkGetPipelineCacheData)        \
  X(vkCreateDescriptorPool)        \
  X(vkDestroyDescriptorPool)       \
  X(vkAllocateDescriptorSets)      \
  X(vkResetDescriptorPool)         \
  X(vkUpdateDescriptorSets)

#define HEARTH_VK_MEMBER(name) PFN_##name name = nullptr;

// The loader's global functions; loaded once per process.
struct Loader {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  HEARTH_VK_GLOBAL(HEARTH_VK_MEMBER)
};

struct InstanceApi {
  HEARTH_VK_INSTANCE(HEARTH_VK_MEMBER)
};

struct DeviceApi {
  HEARTH_VK_DEVICE(HEARTH_VK_MEMBER)
};

#undef HEARTH_VK_MEMBER

// The process's loader, or nullptr with `why` set when libvulkan.so.1 or its entry point is
// missing. Never throws; the library stays open for the life of the process.
const Loader* loader(std::string* why);

// Instance-level functions of `instance`; false (and `why`) when one is missing.
bool load_instance(const Loader& l, VkInstance instance, InstanceApi& api, std::string* why);
// Device-level functions of `device`; false (and `why`) when one is missing.
bool load_device(const InstanceApi& i, VkDevice device, DeviceApi& api, std::string* why);

// "VK_ERROR_OUT_OF_DEVICE_MEMORY", ... for messages.
const char* result_name(VkResult r);

}  // namespace hearth::gpu::vk
