// Commands' recording state (internal to src/gpu): one command buffer, the descriptor pools its
// dispatches draw their sets from, and the one way every operation records a dispatch.
//
// Binding convention shared with every shader (shaders/common.glsl): binding i of set 0 is
// buffer i, bound from its span's offset rounded down to the device's storage alignment; push
// constant word i (i < number of buffers) is the span's start inside the binding in 4-byte words;
// the next word is the number of workgroups the operation needs (the dispatch is a 2-D grid that
// may have a few more: shaders return when their linear group id reaches it); then the
// operation's own parameters.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include "gpu/ops.h"
#include "gpu/vulkan_device.h"

namespace hearth::gpu {

// An operation's own push-constant parameters, as 32-bit words in declaration order.
struct Params {
  uint32_t words[32] = {};
  uint32_t n = 0;
  Params& u(int64_t v);  // a count or stride: must fit in uint32 (checked)
  Params& i(int64_t v);  // a signed value that fits in int32 (checked)
  Params& f(float v) {
    std::memcpy(&words[n++], &v, 4);
    return *this;
  }
};

struct Commands::State {
  explicit State(VulkanDevice& d);
  ~State();

  // Records shader `name` over `groups` workgroups with `buffers` bound as above.
  void dispatch(const std::string& name, std::initializer_list<Span> buffers, const Params& params,
                uint64_t groups);
  void run();

  VulkanDevice& device;
  VkCommandBuffer cb = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  bool recording = false;
  uint32_t n_dispatches = 0;
  std::vector<VkDescriptorPool> pools;  // pools[0..pool_in_use] have handed out sets
  size_t pool_in_use = 0;

 private:
  void begin();
  VkDescriptorSet allocate_set(VkDescriptorSetLayout layout);
};

}  // namespace hearth::gpu

namespace hearth::gpu {

// Throws Error(invalid_input) when `s` holds fewer than `bytes` bytes: "<op>: <what> ...".
void need_bytes(const Span& s, uint64_t bytes, const char* op, const char* what);

}  // namespace hearth::gpu
