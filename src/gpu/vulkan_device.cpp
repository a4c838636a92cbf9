// open_device() and VulkanDevice: the logical device, its queue, memory types and pipelines.
#include "gpu/vulkan_device.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "gpu/shaders.h"

namespace hearth::gpu {

void check_vk(VkResult r, const char* what) {
  if (r != VK_SUCCESS)
    throw Error(ErrorKind::internal,
                std::string("Vulkan: ") + what + " failed (" + vk::result_name(r) + ")");
}

namespace {

// The first memory type allowed by `bits` with all of `flags`, or -1.
int find_memory_type(const VkPhysicalDeviceMemoryProperties& mem, uint32_t bits,
                     VkMemoryPropertyFlags flags) {
  for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
    if ((bits & (1u << i)) && (mem.memoryTypes[i].propertyFlags & flags) == flags)
      return static_cast<int>(i);
  }
  return -1;
}

// Pipeline cache contents per driver (pipelineCacheUUID), kept for the life of the process:
// a Device opened after another one closed (a model reloaded) starts from the compiled
// pipelines of the earlier one instead of compiling every shader again.
struct ProcessPipelineCache {
  std::mutex mutex;
  std::map<std::string, std::vector<uint8_t>> data;
};

ProcessPipelineCache& process_pipeline_cache() {
  static ProcessPipelineCache cache;
  return cache;
}

}  // namespace

std::unique_ptr<Device> open_device(int index) {
  auto instance = std::make_unique<Instance>();
  std::string why;
  std::vector<VkPhysicalDevice> physical;
  if (!open_instance(*instance, &why) || !physical_devices(*instance, physical, &why))
    throw Error(ErrorKind::unavailable,
                "cannot open GPU device " + std::to_string(index) + ": " + why);
  // Same order and filter as list_devices().
  int seen = 0;
  for (VkPhysicalDevice pd : physical) {
    DeviceInfo d;
    if (!describe_device(instance->api, pd, d)) continue;
    if (seen++ != index) continue;
    d.index = index;
    return std::make_unique<VulkanDevice>(std::move(instance), pd, d);
  }
  throw Error(ErrorKind::unavailable, "no GPU device " + std::to_string(index) + " (Vulkan lists " +
                                          std::to_string(seen) + " with a compute queue)");
}

VulkanDevice::VulkanDevice(std::unique_ptr<Instance> instance, VkPhysicalDevice physical,
                           const DeviceInfo& info)
    : info_(info), instance_(std::move(instance)), physical_(physical) {
  const vk::InstanceApi& ia = instance_->api;
  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue{};
  queue.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  queue.queueFamilyIndex = info_.compute_queue_family;
  queue.queueCount = 1;
  queue.pQueuePriorities = &priority;
  VkDeviceCreateInfo create{};
  create.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  create.queueCreateInfoCount = 1;
  create.pQueueCreateInfos = &queue;
  const VkResult r = ia.vkCreateDevice(physical_, &create, nullptr, &device_);
  if (r != VK_SUCCESS)
    throw Error(ErrorKind::unavailable, "cannot open GPU device '" + info_.name +
                                            "' (vkCreateDevice: " + vk::result_name(r) + ")");
  std::string why;
  if (!vk::load_device(ia, device_, api_, &why)) {
    auto destroy =
        reinterpret_cast<PFN_vkDestroyDevice>(ia.vkGetDeviceProcAddr(device_, "vkDestroyDevice"));
    if (destroy != nullptr) destroy(device_, nullptr);
    throw Error(ErrorKind::unavailable, "cannot use GPU device '" + info_.name + "': " + why);
  }
  api_.vkGetDeviceQueue(device_, info_.compute_queue_family, 0, &queue_);

  // From here on the destructor cleans up what was made, so a failure below must go through it.
  try {
    VkCommandPoolCreateInfo pool{};
    pool.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
    pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pool.queueFamilyIndex = info_.compute_queue_family;
    check_vk(api_.vkCreateCommandPool(device_, &pool, nullptr, &command_pool_),
             "vkCreateCommandPool");
    VkFenceCreateInfo fence{};
    fence.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
    check_vk(api_.vkCreateFence(device_, &fence, nullptr, &fence_), "vkCreateFence");

    VkPhysicalDeviceProperties props{};
    ia.vkGetPhysicalDeviceProperties(physical_, &props);
    cache_key_.assign(reinterpret_cast<const char*>(props.pipelineCacheUUID), VK_UUID_SIZE);
    cache_key_ += info_.name;
    {
      ProcessPipelineCache& process = process_pipeline_cache();
      std::lock_guard lock(process.mutex);
      const std::vector<uint8_t>& seed = process.data[cache_key_];
      VkPipelineCacheCreateInfo cache{};
      cache.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
      cache.initialDataSize = seed.size();
      cache.pInitialData = seed.empty() ? nullptr : seed.data();
      check_vk(api_.vkCreatePipelineCache(device_, &cache, nullptr, &pipeline_cache_),
               "vkCreatePipelineCache");
    }
    storage_alignment_ = std::max<uint64_t>(4, props.limits.minStorageBufferOffsetAlignment);
    max_binding_range_ = props.limits.maxStorageBufferRange;
    max_groups_x_ = props.limits.maxComputeWorkGroupCount[0];

    // Memory types, judged on a probe buffer's requirements (storage + transfer usage).
    VkPhysicalDeviceMemoryProperties mem{};
    ia.vkGetPhysicalDeviceMemoryProperties(physical_, &mem);
    VkBufferCreateInfo probe{};
    probe.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
    probe.size = 256;
    probe.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                  VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    VkBuffer b = VK_NULL_HANDLE;
    check_vk(api_.vkCreateBuffer(device_, &probe, nullptr, &b), "vkCreateBuffer");
    VkMemoryRequirements req{};
    api_.vkGetBufferMemoryRequirements(device_, b, &req);
    api_.vkDestroyBuffer(device_, b, nullptr);
    const VkMemoryPropertyFlags host =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const int local =
        find_memory_type(mem, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    const int staging = find_memory_type(mem, req.memoryTypeBits, host);
    if (local < 0 || staging < 0)
      throw Error(ErrorKind::unavailable,
                  "GPU device '" + info_.name + "' has no usable memory type");
    device_type_ = static_cast<uint32_t>(local);
    staging_type_ = static_cast<uint32_t>(staging);
    // A device-local type that is also host-visible: prefer it when the device-local heap is the
    // only heap (lavapipe, integrated GPUs); on discrete cards it is a small BAR window.
    const int mappable =
        find_memory_type(mem, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | host);
    // HEARTH_GPU_FORCE_STAGING=1 (for tests) takes the staging path of discrete cards anywhere.
    const char* force_staging = std::getenv("HEARTH_GPU_FORCE_STAGING");
    const bool staging_only = force_staging != nullptr && std::strcmp(force_staging, "1") == 0;
    if (mappable >= 0 && info_.kind != DeviceKind::discrete && !staging_only) {
      device_type_ = static_cast<uint32_t>(mappable);
      device_mappable_ = true;
    }
  } catch (...) {
    release();
    throw;
  }
}

VulkanDevice::~VulkanDevice() {
  release();
}

void VulkanDevice::release() {
  if (device_ == VK_NULL_HANDLE) return;
  api_.vkDeviceWaitIdle(device_);
  for (auto& [name, p] : pipelines_) {
    api_.vkDestroyPipeline(device_, p.pipeline, nullptr);
    api_.vkDestroyPipelineLayout(device_, p.layout, nullptr);
    api_.vkDestroyDescriptorSetLayout(device_, p.set_layout, nullptr);
  }
  pipelines_.clear();
  if (fence_ != VK_NULL_HANDLE) api_.vkDestroyFence(device_, fence_, nullptr);
  if (pipeline_cache_ != VK_NULL_HANDLE) {
    save_pipeline_cache();
    api_.vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
  }
  if (command_pool_ != VK_NULL_HANDLE) api_.vkDestroyCommandPool(device_, command_pool_, nullptr);
  api_.vkDestroyDevice(device_, nullptr);
  device_ = VK_NULL_HANDLE;
}

void VulkanDevice::save_pipeline_cache() {
  if (pipelines_built_ == 0) return;
  size_t size = 0;
  if (api_.vkGetPipelineCacheData(device_, pipeline_cache_, &size, nullptr) != VK_SUCCESS ||
      size == 0)
    return;
  std::vector<uint8_t> data(size);
  if (api_.vkGetPipelineCacheData(device_, pipeline_cache_, &size, data.data()) != VK_SUCCESS)
    return;
  data.resize(size);
  ProcessPipelineCache& process = process_pipeline_cache();
  std::lock_guard lock(process.mutex);
  process.data[cache_key_] = std::move(data);
}

std::unique_ptr<Buffer> VulkanDevice::allocate(uint64_t bytes) {
  return std::make_unique<VulkanBuffer>(*this, bytes);
}

void VulkanDevice::create_buffer(uint64_t bytes, VkBufferUsageFlags usage, uint32_t type,
                                 VkBuffer* buffer, VkDeviceMemory* memory) {
  VkBufferCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.size = bytes;
  info.usage = usage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check_vk(api_.vkCreateBuffer(device_, &info, nullptr, buffer), "vkCreateBuffer");
  VkMemoryRequirements req{};
  api_.vkGetBufferMemoryRequirements(device_, *buffer, &req);
  VkMemoryAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO;
  alloc.allocationSize = req.size;
  alloc.memoryTypeIndex = type;
  const VkResult r = api_.vkAllocateMemory(device_, &alloc, nullptr, memory);
  if (r != VK_SUCCESS) {
    api_.vkDestroyBuffer(device_, *buffer, nullptr);
    *buffer = VK_NULL_HANDLE;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
      throw Error(ErrorKind::out_of_memory, "GPU device '" + info_.name + "' has no room for " +
                                                std::to_string(bytes) + " bytes more (" +
                                                std::to_string(allocated_) + " bytes allocated)");
    check_vk(r, "vkAllocateMemory");
  }
  const VkResult bind = api_.vkBindBufferMemory(device_, *buffer, *memory, 0);
  if (bind != VK_SUCCESS) {
    api_.vkDestroyBuffer(device_, *buffer, nullptr);
    api_.vkFreeMemory(device_, *memory, nullptr);
    check_vk(bind, "vkBindBufferMemory");
  }
}

void VulkanDevice::begin_one_time(VkCommandBuffer* cb) {
  VkCommandBufferAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  alloc.commandPool = command_pool_;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  check_vk(api_.vkAllocateCommandBuffers(device_, &alloc, cb), "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo begin{};
  begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check_vk(api_.vkBeginCommandBuffer(*cb, &begin), "vkBeginCommandBuffer");
}

void VulkanDevice::submit_and_wait(VkCommandBuffer cb) {
  VkResult r = api_.vkEndCommandBuffer(cb);
  if (r == VK_SUCCESS) {
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cb;
    r = api_.vkQueueSubmit(queue_, 1, &submit, fence_);
    if (r == VK_SUCCESS) {
      r = api_.vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX);
      api_.vkResetFences(device_, 1, &fence_);
    }
  }
  api_.vkFreeCommandBuffers(device_, command_pool_, 1, &cb);
  check_vk(r, "a copy on the GPU");
}

const Pipeline& VulkanDevice::pipeline(const std::string& name, uint32_t n_buffers) {
  auto it = pipelines_.find(name);
  if (it != pipelines_.end()) {
    HEARTH_ASSERT(it->second.n_buffers == n_buffers, "a shader bound with another buffer count");
    return it->second;
  }
  const std::span<const uint32_t> code = shader_code(name);
  if (code.empty())
    throw Error(ErrorKind::internal, "no GPU shader named '" + name + "' in this build");

  Pipeline p;
  p.n_buffers = n_buffers;
  std::vector<VkDescriptorSetLayoutBinding> bindings(n_buffers);
  for (uint32_t i = 0; i < n_buffers; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set{};
  set.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  set.bindingCount = n_buffers;
  set.pBindings = bindings.data();
  check_vk(api_.vkCreateDescriptorSetLayout(device_, &set, nullptr, &p.set_layout),
           "vkCreateDescriptorSetLayout");
  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
  VkPipelineLayoutCreateInfo layout{};
  layout.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  layout.setLayoutCount = 1;
  layout.pSetLayouts = &p.set_layout;
  layout.pushConstantRangeCount = 1;
  layout.pPushConstantRanges = &push;
  VkResult r = api_.vkCreatePipelineLayout(device_, &layout, nullptr, &p.layout);
  if (r != VK_SUCCESS) {
    api_.vkDestroyDescriptorSetLayout(device_, p.set_layout, nullptr);
    check_vk(r, "vkCreatePipelineLayout");
  }
  VkShaderModuleCreateInfo module{};
  module.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  module.codeSize = code.size_bytes();
  module.pCode = code.data();
  VkShaderModule shader = VK_NULL_HANDLE;
  r = api_.vkCreateShaderModule(device_, &module, nullptr, &shader);
  if (r == VK_SUCCESS) {
    VkComputePipelineCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
    info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
    info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
    info.stage.module = shader;
    info.stage.pName = "main";
    info.layout = p.layout;
    r = api_.vkCreateComputePipelines(device_, pipeline_cache_, 1, &info, nullptr, &p.pipeline);
    api_.vkDestroyShaderModule(device_, shader, nullptr);
  }
  if (r != VK_SUCCESS) {
    api_.vkDestroyPipelineLayout(device_, p.layout, nullptr);
    api_.vkDestroyDescriptorSetLayout(device_, p.set_layout, nullptr);
    throw Error(ErrorKind::internal,
                "GPU shader '" + name + "' failed to build (" + vk::result_name(r) + ")");
  }
  ++pipelines_built_;
  return pipelines_.emplace(name, p).first->second;
}

}  // namespace hearth::gpu
