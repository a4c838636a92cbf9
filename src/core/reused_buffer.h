// Per-thread buffers that keep their memory from one call to the next.
//
// The forward pass and the GEMM need megabytes of activations for every layer. Allocations of
// that size come fresh from the kernel, and every 4 KiB page then costs a fault the first time
// it is written: on a 2-core machine that was about a third of a 128-token prompt's time (more
// with two threads faulting at once). A reused buffer is already mapped.
//
// Shape: reused_buffer<T, Slot>(n) is n elements of the calling thread's own buffer for that
// slot (which grows as needed and never shrinks). Contents are left as they were: callers write every element they read.
// Two live uses of one slot on one thread would share memory, so each call site has its own slot,
// and nothing that holds a slot calls code that takes the same slot.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace hearth {

enum class BufferSlot {
  forward_x,
  forward_h,
  forward_q,
  forward_k,
  forward_v,
  forward_att,
  forward_proj,
  forward_qkv,
  ffn_act,
  ffn_gate,
  ffn_up,
  gemm_float_x,
  gemm_codes,
  gemm_scales,
  gemm_offsets,
  gemm_mins,
};

template <typename T, BufferSlot Slot>
std::span<T> reused_buffer(std::size_t n) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < n) buffer.resize(n);
  return {buffer.data(), n};
}

}  // namespace hearth
