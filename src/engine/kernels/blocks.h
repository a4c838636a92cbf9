// GGML quantization blocks, laid out byte for byte as in GGUF files (little-endian hosts).
//
// This header holds ONLY plain structs, constants and constexpr tables: it is included by the
// SIMD translation units (compiled with -mavx2 / -mavx512f), and an inline function defined here
// could be emitted there with wide instructions and picked by the linker for every caller.
//
// F16 fields are raw IEEE binary16 bits (uint16_t); convert them with half.h.
// Notation below: a block covers values v[0..QK); "low nibble" = bits 0-3, "high" = bits 4-7.
#pragma once

#include <cstdint>

namespace hearth::kernels {

inline constexpr int QK4_0 = 32;
inline constexpr int QK4_1 = 32;
inline constexpr int QK5_0 = 32;
inline constexpr int QK5_1 = 32;
inline constexpr int QK8_0 = 32;
inline constexpr int QK8_1 = 32;
inline constexpr int QK4_NL = 32;
inline constexpr int QK_K = 256;         // super-block size of the K-quants
inline constexpr int K_SCALE_SIZE = 12;  // packed 6-bit scales + mins of Q4_K / Q5_K

// Q4_0: v[i] = d·(q[i] − 8), q 4 bits. qs[j] holds q[j] (low nibble) and q[j+16] (high nibble).
struct block_q4_0 {
  uint16_t d;
  uint8_t qs[QK4_0 / 2];
};
static_assert(sizeof(block_q4_0) == 18);

// Q4_1: v[i] = d·q[i] + m, nibbles as Q4_0.
struct block_q4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[QK4_1 / 2];
};
static_assert(sizeof(block_q4_1) == 20);

// Q5_0: v[i] = d·(q[i] − 16), q 5 bits: the low 4 as Q4_0, bit 4 of q[i] is bit i of the
// little-endian 32-bit word qh.
struct block_q5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[QK5_0 / 2];
};
static_assert(sizeof(block_q5_0) == 22);

// Q5_1: v[i] = d·q[i] + m, bits as Q5_0.
struct block_q5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[QK5_1 / 2];
};
static_assert(sizeof(block_q5_1) == 24);

// Q8_0: v[i] = d·qs[i].
struct block_q8_0 {
  uint16_t d;
  int8_t qs[QK8_0];
};
static_assert(sizeof(block_q8_0) == 34);

// Q8_1: as Q8_0 plus s = F16(d·Σqs), used against the minimum of Q4_1 / Q5_1 blocks.
struct block_q8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[QK8_1];
};
static_assert(sizeof(block_q8_1) == 36);

// Q2_K: 16 sub-blocks of 16 values. scales[j]: low nibble = scale, high nibble = min of
// sub-block j; v = d·scale·q − dmin·min, q 2 bits. qs: two halves of 128 values, each 32 bytes;
// within a half, bits (2k, 2k+1) of byte l hold q of value 32k + l.
struct block_q2_K {
  uint8_t scales[QK_K / 16];
  uint8_t qs[QK_K / 4];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(block_q2_K) == 84);

// Q3_K: 16 sub-blocks of 16; v = d·(scale − 32)·(q − 4·!hbit), q low 2 bits in qs (layout as
// Q2_K), the third bit in hmask: bit m of hmask[l] belongs to value 32m + l. The 16 6-bit scales
// are packed in 12 bytes (low 4 bits in scales[0..7], high 2 bits in scales[8..11]).
struct block_q3_K {
  uint8_t hmask[QK_K / 8];
  uint8_t qs[QK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(block_q3_K) == 110);

// Q4_K: 8 sub-blocks of 32; v = d·sc[j]·q − dmin·m[j], 6-bit sc/m packed in scales[12].
// qs: 4 chunks of 32 bytes, chunk c holds sub-block 2c (low nibbles) and 2c+1 (high nibbles).
struct block_q4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q4_K) == 144);

// Q5_K: as Q4_K plus a fifth bit: bit j of qh[l] belongs to value 32j + l.
struct block_q5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[K_SCALE_SIZE];
  uint8_t qh[QK_K / 8];
  uint8_t qs[QK_K / 2];
};
static_assert(sizeof(block_q5_K) == 176);

// Q6_K: 16 sub-blocks of 16 with int8 scales; v = d·scales[j]·(q − 32), q 6 bits: 4 in ql,
// 2 in qh. Two halves of 128 values; in a half, ql[l] / ql[l+32] low nibbles are values l / l+32,
// high nibbles values l+64 / l+96; qh[l] bits (0-1, 2-3, 4-5, 6-7) top values l, l+32, l+64, l+96.
struct block_q6_K {
  uint8_t ql[QK_K / 2];
  uint8_t qh[QK_K / 4];
  int8_t scales[QK_K / 16];
  uint16_t d;
};
static_assert(sizeof(block_q6_K) == 210);

// Q8_K: the activation type of the K-quants; d is F32, bsums[j] = Σ qs[16j .. 16j+15].
struct block_q8_K {
  float d;
  int8_t qs[QK_K];
  int16_t bsums[QK_K / 16];
};
static_assert(sizeof(block_q8_K) == 292);

// IQ4_NL: v[i] = d·kvalues_iq4nl[q[i]], nibbles as Q4_0.
struct block_iq4_nl {
  uint16_t d;
  uint8_t qs[QK4_NL / 2];
};
static_assert(sizeof(block_iq4_nl) == 18);

// The non-linear 4-bit grid of IQ4_NL (and IQ4_XS).
inline constexpr int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                             1,    13,   25,  38,  53,  69,  89,  113};

}  // namespace hearth::kernels
