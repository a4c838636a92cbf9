// Commands: recording dispatches into one command buffer, and running them (recorder.h).
#include <algorithm>
#include <string>

#include "core/error.h"
#include "gpu/recorder.h"

namespace hearth::gpu {

namespace {

constexpr uint32_t kSetsPerPool = 512;
constexpr uint32_t kBuffersPerPool = kSetsPerPool * 8;

VulkanDevice& vulkan(Device& d) {
  auto* v = dynamic_cast<VulkanDevice*>(&d);
  HEARTH_ASSERT(v != nullptr, "gpu::Commands needs a device from gpu::open_device");
  return *v;
}

}  // namespace

void need_bytes(const Span& s, uint64_t bytes, const char* op, const char* what) {
  if (s.buffer == nullptr || s.bytes < bytes)
    throw Error(ErrorKind::invalid_input, std::string("GPU ") + op + ": " + what + " has " +
                                              std::to_string(s.bytes) + " bytes, " +
                                              std::to_string(bytes) + " needed");
}

Params& Params::u(int64_t v) {
  if (v < 0 || v > UINT32_MAX)
    throw Error(ErrorKind::unsupported,
                "a GPU operation's size " + std::to_string(v) + " does not fit 32 bits");
  words[n++] = static_cast<uint32_t>(v);
  return *this;
}

Params& Params::i(int64_t v) {
  if (v < INT32_MIN || v > INT32_MAX)
    throw Error(ErrorKind::unsupported,
                "a GPU operation's value " + std::to_string(v) + " does not fit 32 bits");
  const auto s = static_cast<int32_t>(v);
  std::memcpy(&words[n++], &s, 4);
  return *this;
}

Commands::State::State(VulkanDevice& d) : device(d) {
  const auto& api = d.api();
  VkCommandBufferAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  alloc.commandPool = d.command_pool();
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  check_vk(api.vkAllocateCommandBuffers(d.device(), &alloc, &cb), "vkAllocateCommandBuffers");
  VkFenceCreateInfo fence_info{};
  fence_info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  const VkResult r = api.vkCreateFence(d.device(), &fence_info, nullptr, &fence);
  if (r != VK_SUCCESS) {
    api.vkFreeCommandBuffers(d.device(), d.command_pool(), 1, &cb);
    check_vk(r, "vkCreateFence");
  }
}

Commands::State::~State() {
  const auto& api = device.api();
  if (recording) api.vkEndCommandBuffer(cb);
  api.vkFreeCommandBuffers(device.device(), device.command_pool(), 1, &cb);
  api.vkDestroyFence(device.device(), fence, nullptr);
  for (VkDescriptorPool p : pools) api.vkDestroyDescriptorPool(device.device(), p, nullptr);
}

void Commands::State::begin() {
  VkCommandBufferBeginInfo info{};
  info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  info.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check_vk(device.api().vkBeginCommandBuffer(cb, &info), "vkBeginCommandBuffer");
  recording = true;
  n_dispatches = 0;
}

VkDescriptorSet Commands::State::allocate_set(VkDescriptorSetLayout layout) {
  const auto& api = device.api();
  for (;;) {
    if (pool_in_use == pools.size()) {
      VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kBuffersPerPool};
      VkDescriptorPoolCreateInfo info{};
      info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
      info.maxSets = kSetsPerPool;
      info.poolSizeCount = 1;
      info.pPoolSizes = &size;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      check_vk(api.vkCreateDescriptorPool(device.device(), &info, nullptr, &pool),
               "vkCreateDescriptorPool");
      pools.push_back(pool);
    }
    VkDescriptorSetAllocateInfo alloc{};
    alloc.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
    alloc.descriptorPool = pools[pool_in_use];
    alloc.descriptorSetCount = 1;
    alloc.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    const VkResult r = api.vkAllocateDescriptorSets(device.device(), &alloc, &set);
    if (r == VK_SUCCESS) return set;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL)
      check_vk(r, "vkAllocateDescriptorSets");
    ++pool_in_use;  // this pool is full until run() resets it
  }
}

void Commands::State::dispatch(const std::string& name, std::initializer_list<Span> buffers,
                               const Params& params, uint64_t groups) {
  if (groups == 0) return;
  const auto n_buffers = static_cast<uint32_t>(buffers.size());
  HEARTH_ASSERT((n_buffers + 1 + params.n) * 4 <= kPushBytes, "too many push constants");
  const Pipeline& p = device.pipeline(name, n_buffers);
  if (!recording) begin();
  const auto& api = device.api();

  // Descriptors and the offsets word of each buffer.
  uint32_t push[kPushBytes / 4] = {};
  VkDescriptorBufferInfo infos[8];
  VkWriteDescriptorSet writes[8];
  HEARTH_ASSERT(n_buffers <= 8, "a shader binds at most 8 buffers");
  const VkDescriptorSet set = allocate_set(p.set_layout);
  uint32_t b = 0;
  for (const Span& s : buffers) {
    auto* buffer = dynamic_cast<VulkanBuffer*>(s.buffer);
    HEARTH_ASSERT(buffer != nullptr, "a GPU operation got a span without a buffer of this device");
    if (s.offset % 4 != 0 || s.offset > buffer->size() || s.bytes > buffer->size() - s.offset)
      throw Error(ErrorKind::invalid_input,
                  "GPU operation '" + name + "': buffer " + std::to_string(b) + "'s span (" +
                      std::to_string(s.bytes) + " bytes at " + std::to_string(s.offset) +
                      ") is misaligned or outside its buffer");
    const uint64_t base = s.offset / device.storage_alignment() * device.storage_alignment();
    const uint64_t delta = s.offset - base;
    // Whole words, at least one: shaders read unaligned blocks as words.
    const uint64_t range =
        std::min((delta + std::max<uint64_t>(s.bytes, 4) + 3) / 4 * 4, buffer->capacity() - base);
    if (range > device.max_binding_range())
      throw Error(ErrorKind::unsupported, "GPU operation '" + name + "': a span of " +
                                              std::to_string(s.bytes) +
                                              " bytes is more than the device binds at once (" +
                                              std::to_string(device.max_binding_range()) + ")");
    infos[b] = {buffer->handle(), base, range};
    writes[b] = {};
    writes[b].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[b].dstSet = set;
    writes[b].dstBinding = b;
    writes[b].descriptorCount = 1;
    writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[b].pBufferInfo = &infos[b];
    push[b] = static_cast<uint32_t>(delta / 4);
    ++b;
  }
  api.vkUpdateDescriptorSets(device.device(), n_buffers, writes, 0, nullptr);

  // A 2-D grid: x up to the device's limit, y as many rows of that as needed.
  const uint64_t gx = std::min<uint64_t>(groups, std::min<uint32_t>(device.max_groups_x(), 65535));
  const uint64_t gy = (groups + gx - 1) / gx;
  if (gy > 65535 || groups > UINT32_MAX)
    throw Error(ErrorKind::unsupported, "GPU operation '" + name + "' needs too many workgroups (" +
                                            std::to_string(groups) + ")");
  push[n_buffers] = static_cast<uint32_t>(groups);
  std::memcpy(&push[n_buffers + 1], params.words, params.n * 4);

  if (n_dispatches > 0) {
    // Each dispatch sees every earlier one's writes.
    VkMemoryBarrier barrier{};
    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
    barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
    barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
    api.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                             VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0, nullptr, 0,
                             nullptr);
  }
  api.vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  api.vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  api.vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes, push);
  api.vkCmdDispatch(cb, static_cast<uint32_t>(gx), static_cast<uint32_t>(gy), 1);
  ++n_dispatches;
}

void Commands::State::run() {
  if (!recording) return;
  const auto& api = device.api();
  // The results must be visible to the host (downloads of mapped memory) after the fence.
  VkMemoryBarrier barrier{};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  api.vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                           VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1,
                           &barrier, 0, nullptr, 0, nullptr);
  recording = false;
  VkResult r = api.vkEndCommandBuffer(cb);
  if (r == VK_SUCCESS) {
    VkSubmitInfo submit{};
    submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
    submit.commandBufferCount = 1;
    submit.pCommandBuffers = &cb;
    r = api.vkQueueSubmit(device.queue(), 1, &submit, fence);
    if (r == VK_SUCCESS) {
      r = api.vkWaitForFences(device.device(), 1, &fence, VK_TRUE, UINT64_MAX);
      api.vkResetFences(device.device(), 1, &fence);
    }
  }
  // A new empty recording either way: the command buffer and every set go back.
  api.vkResetCommandBuffer(cb, 0);
  for (size_t i = 0; i < pools.size() && i <= pool_in_use; ++i)
    api.vkResetDescriptorPool(device.device(), pools[i], 0);
  pool_in_use = 0;
  n_dispatches = 0;
  check_vk(r, "running GPU commands");
}

Commands::Commands(Device& device) : state_(std::make_unique<State>(vulkan(device))) {}
Commands::~Commands() = default;

void Commands::run() {
  state_->run();
}

}  // namespace hearth::gpu
