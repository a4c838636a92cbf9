// The tiled attention kernel (attention.h) built for AVX2: the shared body in
// attention_block.inc with a register block of 2 keys, sized to the AVX2 register file.
// Called only through attention_kernel() once the CPU check has passed.
#include <immintrin.h>

#include <type_traits>

#include "engine/kernels/attention.h"

namespace hearth::kernels::avx2 {
#define HEARTH_ATTN_KEY_STEP 2
#include "engine/kernels/attention_block.inc"
#undef HEARTH_ATTN_KEY_STEP
}  // namespace hearth::kernels::avx2
