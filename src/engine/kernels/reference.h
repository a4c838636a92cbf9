// The scalar reference kernels, one set of functions per tensor type (internal to the kernels
// library; the SIMD files may call them for tails or fall back to them).
//
// Signatures match TypeOps: to_float(blocks, out, n), from_float(in, blocks, n),
// vec_dot(n, w, x) with x already in the type's vec_dot_type. n is a multiple of the block size.
// Accumulation follows llama.cpp's generic (non-SIMD) code: exact integer sums inside a block,
// then scaled by the block's F32 scales and summed in F32 (F32/F16/BF16 dots: products summed in
// double, as ggml_vec_dot_f32 / _f16 do).
#pragma once

#include <cstdint>

namespace hearth::kernels::reference {

// clang-format off
// F32, F16, BF16 (reference_float.cpp)
void to_float_f32(const void* in, float* out, int64_t n);
void from_float_f32(const float* in, void* out, int64_t n);
float vec_dot_f32(int64_t n, const void* w, const void* x);
void to_float_f16(const void* in, float* out, int64_t n);
void from_float_f16(const float* in, void* out, int64_t n);
float vec_dot_f16(int64_t n, const void* w, const void* x);
void to_float_bf16(const void* in, float* out, int64_t n);
void from_float_bf16(const float* in, void* out, int64_t n);
float vec_dot_bf16(int64_t n, const void* w, const void* x);

// Q8_0, Q8_1, Q8_K: the activation types (reference_q8.cpp)
void to_float_q8_0(const void* in, float* out, int64_t n);
void from_float_q8_0(const float* in, void* out, int64_t n);
float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* x);
void to_float_q8_1(const void* in, float* out, int64_t n);
void from_float_q8_1(const float* in, void* out, int64_t n);
void to_float_q8_k(const void* in, float* out, int64_t n);
void from_float_q8_k(const float* in, void* out, int64_t n);

// Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL (reference_legacy.cpp)
void to_float_q4_0(const void* in, float* out, int64_t n);
float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* x);
void to_float_q4_1(const void* in, float* out, int64_t n);
float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* x);
void to_float_q5_0(const void* in, float* out, int64_t n);
float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* x);
void to_float_q5_1(const void* in, float* out, int64_t n);
float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* x);
void to_float_iq4_nl(const void* in, float* out, int64_t n);
float vec_dot_iq4_nl_q8_0(int64_t n, const void* w, const void* x);

// Q2_K, Q3_K (reference_kquants_low.cpp); Q4_K, Q5_K, Q6_K (reference_kquants_high.cpp)
void to_float_q2_k(const void* in, float* out, int64_t n);
float vec_dot_q2_k_q8_k(int64_t n, const void* w, const void* x);
void to_float_q3_k(const void* in, float* out, int64_t n);
float vec_dot_q3_k_q8_k(int64_t n, const void* w, const void* x);
void to_float_q4_k(const void* in, float* out, int64_t n);
float vec_dot_q4_k_q8_k(int64_t n, const void* w, const void* x);
void to_float_q5_k(const void* in, float* out, int64_t n);
float vec_dot_q5_k_q8_k(int64_t n, const void* w, const void* x);
void to_float_q6_k(const void* in, float* out, int64_t n);
float vec_dot_q6_k_q8_k(int64_t n, const void* w, const void* x);
// clang-format on

// The 6-bit scale and min of sub-block j (0..7) of a Q4_K / Q5_K block, from its 12 packed bytes:
// j < 4: scale = low 6 bits of s[j], min = low 6 bits of s[j+4];
// j ≥ 4: scale = low nibble of s[j+4] | (top 2 bits of s[j-4]) << 4,
//        min   = high nibble of s[j+4] | (top 2 bits of s[j]) << 4.
void k4_scale_min(const uint8_t* s, int j, uint8_t* scale, uint8_t* min);

}  // namespace hearth::kernels::reference

// The weight quantizers (quantizer_*.cpp): n floats -> blocks, as llama-quantize writes them
// without an importance matrix (see engine/quantize/quantize.h for what they reproduce). Q8_0's is
// kept apart from the activation quantizer from_float_q8_0 above.
namespace hearth::kernels::quantizer {
void q4_0(const float* x, void* y, int64_t n);
void q4_1(const float* x, void* y, int64_t n);
void q5_0(const float* x, void* y, int64_t n);
void q5_1(const float* x, void* y, int64_t n);
void q8_0(const float* x, void* y, int64_t n);
void iq4_nl(const float* x, void* y, int64_t n);
void q2_k(const float* x, void* y, int64_t n);
void q3_k(const float* x, void* y, int64_t n);
void q4_k(const float* x, void* y, int64_t n);
void q5_k(const float* x, void* y, int64_t n);
void q6_k(const float* x, void* y, int64_t n);
}  // namespace hearth::kernels::quantizer
