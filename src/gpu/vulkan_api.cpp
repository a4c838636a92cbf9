// Loading libvulkan.so.1 at run time and filling the function tables of vulkan_api.h.
#include "gpu/vulkan_api.h"

#include <dlfcn.h>

#include <mutex>

namespace hearth::gpu::vk {

namespace {

struct LoadedLoader {
  Loader loader;
  std::string why;
  bool ok = false;
};

LoadedLoader load_loader() {
  LoadedLoader out;
  void* lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    out.why = "no Vulkan loader (libvulkan.so.1 could not be opened; install libvulkan1)";
    return out;
  }
  auto gipa = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib, "vkGetInstanceProcAddr"));
  if (gipa == nullptr) {
    out.why = "libvulkan.so.1 has no vkGetInstanceProcAddr";
    return out;
  }
  out.loader.vkGetInstanceProcAddr = gipa;
#define HEARTH_VK_LOAD(name) \
  out.loader.name = reinterpret_cast<PFN_##name>(gipa(VK_NULL_HANDLE, #name));
  HEARTH_VK_GLOBAL(HEARTH_VK_LOAD)
#undef HEARTH_VK_LOAD
  if (out.loader.vkCreateInstance == nullptr) {
    out.why = "the Vulkan loader gives no vkCreateInstance";
    return out;
  }
  out.ok = true;
  return out;
}

}  // namespace

const Loader* loader(std::string* why) {
  static const LoadedLoader loaded = load_loader();
  if (!loaded.ok) {
    if (why != nullptr) *why = loaded.why;
    return nullptr;
  }
  return &loaded.loader;
}

bool load_instance(const Loader& l, VkInstance instance, InstanceApi& api, std::string* why) {
#define HEARTH_VK_LOAD(name)                                                               \
  api.name = reinterpret_cast<PFN_##name>(l.vkGetInstanceProcAddr(instance, #name));       \
  if (api.name == nullptr) {                                                               \
    if (why != nullptr) *why = "the Vulkan instance has no " #name " (Vulkan 1.1 needed)"; \
    return false;                                                                          \
  }
  HEARTH_VK_INSTANCE(HEARTH_VK_LOAD)
#undef HEARTH_VK_LOAD
  return true;
}

bool load_device(const InstanceApi& i, VkDevice device, DeviceApi& api, std::string* why) {
#define HEARTH_VK_LOAD(name)                                                     \
  api.name = reinterpret_cast<PFN_##name>(i.vkGetDeviceProcAddr(device, #name)); \
  if (api.name == nullptr) {                                                     \
    if (why != nullptr) *why = "the Vulkan device has no " #name;                \
    return false;                                                                \
  }
  HEARTH_VK_DEVICE(HEARTH_VK_LOAD)
#undef HEARTH_VK_LOAD
  return true;
}

const char* result_name(VkResult r) {
  switch (r) {
    case VK_SUCCESS:
      return "VK_SUCCESS";
    case VK_NOT_READY:
      return "VK_NOT_READY";
    case VK_TIMEOUT:
      return "VK_TIMEOUT";
    case VK_INCOMPLETE:
      return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED:
      return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST:
      return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED:
      return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT:
      return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT:
      return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT:
      return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS:
      return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY:
      return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_ERROR_FRAGMENTED_POOL:
      return "VK_ERROR_FRAGMENTED_POOL";
    default:
      return "VkResult error";
  }
}

}  // namespace hearth::gpu::vk
