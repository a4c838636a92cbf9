// IEEE binary16 (F16) and bfloat16 (BF16) <-> binary32 conversion, scalar and bit-exact.
//
// F32 -> F16 rounds to nearest, ties to even, exactly like the F16C instruction vcvtps2ph with
// rounding mode 0 that llama.cpp uses on x86: overflow goes to infinity, values below half the
// smallest subnormal go to (signed) zero, NaNs stay NaN with the quiet bit set and the top
// mantissa bits kept. F32 -> BF16 rounds to nearest even as ggml does (NaN -> quiet NaN).
// Functions, not inline: see blocks.h for why SIMD translation units must not share inline code.
#pragma once

#include <cstdint>

namespace hearth::kernels {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

}  // namespace hearth::kernels
