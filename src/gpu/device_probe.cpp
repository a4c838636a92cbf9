// Vulkan instances and the description of physical devices (device_probe.h).
#include "gpu/device_probe.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

namespace hearth::gpu {

Instance::~Instance() {
  if (handle != VK_NULL_HANDLE && api.vkDestroyInstance != nullptr)
    api.vkDestroyInstance(handle, nullptr);
}

bool open_instance(Instance& instance, std::string* why) {
  const vk::Loader* l = vk::loader(why);
  if (l == nullptr) return false;
  uint32_t version = VK_API_VERSION_1_0;
  if (l->vkEnumerateInstanceVersion != nullptr) l->vkEnumerateInstanceVersion(&version);
  if (version < VK_API_VERSION_1_1) {
    *why = "the Vulkan loader is older than Vulkan 1.1 (update libvulkan1)";
    return false;
  }
  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "hearth";
  app.pEngineName = "hearth";
  app.apiVersion = VK_API_VERSION_1_2;
  VkInstanceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  info.pApplicationInfo = &app;
  VkInstance handle = VK_NULL_HANDLE;
  const VkResult r = l->vkCreateInstance(&info, nullptr, &handle);
  if (r != VK_SUCCESS) {
    *why = std::string("no Vulkan driver answered (vkCreateInstance: ") + vk::result_name(r) +
           "; install mesa-vulkan-drivers or the GPU vendor's driver)";
    return false;
  }
  instance.handle = handle;
  if (!vk::load_instance(*l, handle, instance.api, why)) {
    // Destroy with the one function we may have.
    auto destroy = reinterpret_cast<PFN_vkDestroyInstance>(
        l->vkGetInstanceProcAddr(handle, "vkDestroyInstance"));
    if (destroy != nullptr) destroy(handle, nullptr);
    instance.handle = VK_NULL_HANDLE;
    return false;
  }
  return true;
}

bool physical_devices(const Instance& instance, std::vector<VkPhysicalDevice>& out,
                      std::string* why) {
  uint32_t n = 0;
  VkResult r = instance.api.vkEnumeratePhysicalDevices(instance.handle, &n, nullptr);
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) {
    *why = std::string("Vulkan lists no devices (") + vk::result_name(r) + ")";
    return false;
  }
  out.resize(n);
  r = instance.api.vkEnumeratePhysicalDevices(instance.handle, &n, out.data());
  out.resize(n);
  if ((r != VK_SUCCESS && r != VK_INCOMPLETE) || n == 0) {
    *why = "Vulkan found no device (no GPU driver; install mesa-vulkan-drivers for the CPU device)";
    return false;
  }
  return true;
}

namespace {

std::string vendor_name(uint32_t id) {
  switch (id) {
    case 0x10de:
      return "NVIDIA";
    case 0x1002:
      return "AMD";
    case 0x8086:
      return "Intel";
    case 0x10005:
      return "Mesa";
    default: {
      char hex[16];
      std::snprintf(hex, sizeof(hex), "0x%x", id);
      return hex;
    }
  }
}

DeviceKind kind_of(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return DeviceKind::discrete;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return DeviceKind::integrated;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return DeviceKind::virtual_gpu;
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return DeviceKind::cpu;
    default:
      return DeviceKind::other;
  }
}

bool has_extension(const vk::InstanceApi& api, VkPhysicalDevice pd, const char* name) {
  uint32_t n = 0;
  if (api.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr) != VK_SUCCESS)
    return false;
  std::vector<VkExtensionProperties> ext(n);
  if (api.vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, ext.data()) != VK_SUCCESS)
    return false;
  for (const auto& e : ext)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

}  // namespace

bool describe_device(const vk::InstanceApi& api, VkPhysicalDevice pd, DeviceInfo& d) {
  uint32_t n_families = 0;
  api.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_families, nullptr);
  std::vector<VkQueueFamilyProperties> families(n_families);
  api.vkGetPhysicalDeviceQueueFamilyProperties(pd, &n_families, families.data());
  bool found = false;
  for (uint32_t i = 0; i < n_families && !found; ++i) {
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      d.compute_queue_family = i;
      found = true;
    }
  }
  if (!found) return false;

  VkPhysicalDeviceProperties props{};
  api.vkGetPhysicalDeviceProperties(pd, &props);
  if (props.apiVersion < VK_API_VERSION_1_1) return false;  // the shaders target Vulkan 1.1
  const bool v12 = props.apiVersion >= VK_API_VERSION_1_2;
  VkPhysicalDeviceSubgroupProperties subgroup{};
  subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES;
  VkPhysicalDeviceDriverProperties driver{};
  driver.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES;
  VkPhysicalDeviceProperties2 props2{};
  props2.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  props2.pNext = &subgroup;
  if (v12) subgroup.pNext = &driver;
  api.vkGetPhysicalDeviceProperties2(pd, &props2);

  VkPhysicalDeviceShaderFloat16Int8Features f16{};
  f16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
  VkPhysicalDevice16BitStorageFeatures storage16{};
  storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
  f16.pNext = &storage16;
  VkPhysicalDeviceFeatures2 features{};
  features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  features.pNext = &f16;
  api.vkGetPhysicalDeviceFeatures2(pd, &features);

  VkPhysicalDeviceMemoryProperties mem{};
  api.vkGetPhysicalDeviceMemoryProperties(pd, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i) {
    if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
      d.vram_bytes = std::max<uint64_t>(d.vram_bytes, mem.memoryHeaps[i].size);
  }

  d.name = props.deviceName;
  d.vendor_id = props.vendorID;
  d.vendor = vendor_name(props.vendorID);
  d.kind = kind_of(props.deviceType);
  if (v12 && driver.driverName[0] != '\0') {
    d.driver = driver.driverName;
    if (driver.driverInfo[0] != '\0') d.driver += std::string(" ") + driver.driverInfo;
  } else {
    d.driver = "driver version " + std::to_string(props.driverVersion);
  }
  d.subgroup_size = subgroup.subgroupSize;
  d.fp16 = f16.shaderFloat16 == VK_TRUE && storage16.storageBuffer16BitAccess == VK_TRUE;
  d.int8_dot = has_extension(api, pd, "VK_KHR_shader_integer_dot_product");
  return true;
}

}  // namespace hearth::gpu
