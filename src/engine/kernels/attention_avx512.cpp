// The tiled attention kernel (attention.h) built for AVX512: the shared body in
// attention_block.inc with a register block of 4 keys, sized to the AVX512 register file.
// Called only through attention_kernel() once the CPU check has passed.
#include <immintrin.h>

// GCC 12 reads the deliberately undefined pass-through operand of _mm512_cvtph_ps as
// uninitialized.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <type_traits>

#include "engine/kernels/attention.h"

namespace hearth::kernels::avx512 {
#define HEARTH_ATTN_KEY_STEP 4
#include "engine/kernels/attention_block.inc"
#undef HEARTH_ATTN_KEY_STEP
}  // namespace hearth::kernels::avx512
