// The portable build of the tiled attention kernel, the scratch it needs, and the per-set
// dispatch (the AVX2 / AVX-512 builds are attention_avx2.cpp / attention_avx512.cpp, reached
// only through attention_kernel() after the CPU check).
#include "engine/kernels/attention.h"

#include <type_traits>

namespace hearth::kernels {

namespace portable {
#define HEARTH_ATTN_KEY_STEP 2
#include "engine/kernels/attention_block.inc"
#undef HEARTH_ATTN_KEY_STEP
}  // namespace portable

namespace avx2 {
void attend_block(const AttentionBlock& b);
}
namespace avx512 {
void attend_block(const AttentionBlock& b);
}

size_t attention_scratch_floats(int nq, int head_dim) {
  const auto W = static_cast<size_t>((nq + 15) / 16 * 16);
  auto Dp = static_cast<size_t>((head_dim + 15) / 16 * 16);
  if (Dp > 192 && Dp <= 256) Dp = 256;  // the few-rows layout rounds such heads up to 256
  const auto T = static_cast<size_t>(kAttentionTile);
  const auto Q = static_cast<size_t>(nq);
  const size_t lanes = 2 * Dp * W + T * W + 2 * T * Dp + 4 * W;
  const size_t dims = 2 * Q * Dp + Q * T + 2 * T * Dp;
  return lanes > dims ? lanes : dims;
}

AttentionKernel attention_kernel(KernelSet set) {
  switch (set) {
    case KernelSet::avx512: return avx512::attend_block;
    case KernelSet::avx2: return avx2::attend_block;
    case KernelSet::reference: break;
  }
  return portable::attend_block;
}

}  // namespace hearth::kernels
