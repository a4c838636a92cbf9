// AVX2 GEMM kernels for the integer weight types (Q8_0, Q4_0 against Q8_0 activations; Q4_K,
// Q5_K, Q6_K against Q8_K), for CPUs without AVX-512 VNNI: one job = up to kJobRows weight rows ×
// all tokens (gemm.h), 8 tokens per vector.
//
// The block form is the AVX-512 one (gemm_quant_avx512.cpp): per block of BK values
//   Σ_i w_i x_i = dx · ( S_r · (Σ_i u_i q_i + T_t) + M_r · X_t )
// with u the weight codes as bytes, q the activation codes (int8), S_r / M_r the weight block's
// F32 scale and minimum term, and per token dx the activation scale, T_t an integer offset and
// X_t = dx·Σq. Without vpdpbusd the integer sum Σ u·q is formed with vpmaddubsw (u8 × s8 products
// summed in pairs into int16, saturating) and vpmaddwd against ones (int16 pairs into int32).
//
// Why every integer sum is exact (equal to the vec_dot kernels' block sums):
//   - Q4_0, Q4_K, Q5_K, Q6_K: u ≤ 15, 31, 63 and |q| ≤ 128, so one vpmaddubsw pair is at most
//     2·63·128 = 16128 < 32767: no saturation. G such pairs of consecutive 4-value groups are
//     then added in int16 before widening, G chosen so that G·2·umax·128 ≤ 32767: G = 8 for
//     4-bit codes (30720), 4 for 5-bit (31744), 2 for 6-bit (32256). The int16 adds never wrap.
//   - Q8_0: codes are signed, w ∈ [−128, 127]; stored +128 they would reach 255 and a pair
//     255·127·2 = 64770 would saturate. Instead u = |w| (vpabsb: −128 gives the byte 0x80, read
//     as the unsigned 128) and the activation takes the weight's sign (vpsignb: q·sgn(w), 0 where
//     w = 0), so each product |w|·sgn(w)·q = w·q. Q8_0 activations come from round(x·127/amax)
//     and satisfy |q| ≤ 127 for finite inputs, so vpsignb never meets −128 and a pair is at most
//     2·128·127 = 32512 < 32767. G = 1 (two pairs could reach 65024), T = 0 (no offset).
// Only the F32 order of the scaled block terms differs from vec_dot (gemm.h).
//
// Per chunk of kKci values the job's rows are unpacked once (codes to bytes in value order, block
// scales to F32) into scratch; the microkernel runs kMr rows × kNv token vectors with the int32
// block sums in registers (8 ymm) and the F32 partial sums in the job's accumulator, which stays
// in L1 (16 ymm registers do not hold both).
//
// Compiled with -mavx2 -mfma -mf16c: only kernels here, called only after the CPU check
// (simd_tables.h rules).
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"

namespace hearth::kernels::avx2 {
namespace {

constexpr int kJobRows = 48;  // gemm.cpp: kGemmJobRows
constexpr int kKci = 256;     // K values per chunk (one K-quant super-block)
constexpr int kMaxBlocks = kKci / 16;
constexpr int kLanes = 8;
constexpr int kMr = 4;
constexpr int kNv = 2;

#include "engine/kernels/gemm_unpack.inc"

// ---- weight unpacking: values [k0, k0 + kc) of one row -> codes (bytes), s / m per block ----

// Q8_0 keeps its signed codes (the microkernel takes |w| and the sign, see the file comment).
void unpack_q8_0(const void* row, int64_t k0, int kc, uint8_t* codes, float* s, float*) {
  const auto* b = static_cast<const block_q8_0*>(row) + k0 / QK8_0;
  for (int i = 0; i < kc / QK8_0; ++i) {
    store256(codes + 32 * i, load256(b[i].qs));
    s[i] = f16(b[i].d);
  }
}

void unpack_q4_0(const void* row, int64_t k0, int kc, uint8_t* codes, float* s, float*) {
  const auto* b = static_cast<const block_q4_0*>(row) + k0 / QK4_0;
  for (int i = 0; i < kc / QK4_0; ++i) {
    store256(codes + 32 * i, nibbles32(b[i].qs));
    s[i] = f16(b[i].d);
  }
}

using Unpack = void (*)(const void*, int64_t, int, uint8_t*, float*, float*);

// ---- the microkernel ----

// The 4 weight codes at p, in every lane.
inline __m256i broadcast_word(const uint8_t* p) {
  int32_t word;
  std::memcpy(&word, p, sizeof word);
  return _mm256_set1_epi32(word);
}

// int16 pair sums of 4-value groups: codes (unsigned) × activations, or for signed codes
// (Q8_0) |w| × sgn(w)·q (see the file comment).
template <bool SIGNED>
inline __m256i pairs(__m256i w, __m256i x) {
  if (SIGNED) return _mm256_maddubs_epi16(_mm256_abs_epi8(w), _mm256_sign_epi8(x, w));
  return _mm256_maddubs_epi16(w, x);
}

// acc[r][v] += over nb blocks of BK values (see the file comment). wc: rows of kKci codes;
// ws / wm: rows of kMaxBlocks F32; xc: this chunk's int32 codes of kNv token vectors, [k/4][kNv][8]
// (a contiguous copy: fixed offsets from one pointer, where strides of vs would take a register
// per group); xd / xi / xm: [block][vs] scales, integer offsets, minimum terms. G groups of 4
// values are summed in int16 before widening. The pragmas keep GCC's -O3 from unrolling the block
// loops, which spills the int32 sums to the stack; the tile loops are unrolled in full instead.
template <int R, int V, int BK, int G, bool SIGNED, bool TINIT, bool MIN>
void micro(const uint8_t* wc, const float* ws, const float* wm, const int32_t* xc, const float* xd,
           const int32_t* xi, const float* xm, int64_t vs, int nb, float* acc, int64_t acc_stride) {
  static_assert((BK / 4) % G == 0, "groups per int16 sum must divide the block");
  const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 1
  for (int b = 0; b < nb; ++b) {
    __m256i s[R][V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) {
      const __m256i t = TINIT ? load256(xi + kLanes * v) : _mm256_setzero_si256();
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) s[r][v] = t;
    }
#pragma GCC unroll 1
    for (int g0 = 0; g0 < BK / 4; g0 += G) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const uint8_t* wr = wc + r * kKci + b * BK + 4 * g0;
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
          const int32_t* xg = xc + (g0 * kNv + v) * kLanes;
          __m256i t = pairs<SIGNED>(broadcast_word(wr), load256(xg));
#pragma GCC unroll 8
          for (int g = 1; g < G; ++g) {
            t = _mm256_add_epi16(
                t, pairs<SIGNED>(broadcast_word(wr + 4 * g), load256(xg + g * kNv * kLanes)));
          }
          s[r][v] = _mm256_add_epi32(s[r][v], _mm256_madd_epi16(t, ones));
        }
      }
    }
    xc += (BK / 4) * kNv * kLanes;
    __m256 d[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v) d[v] = _mm256_loadu_ps(xd + kLanes * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 sc = _mm256_set1_ps(ws[r * kMaxBlocks + b]);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v) {
        float* a = acc + r * acc_stride + kLanes * v;
        _mm256_storeu_ps(a, _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[r][v]), _mm256_mul_ps(sc, d[v]),
                                            _mm256_loadu_ps(a)));
      }
    }
    if (MIN) {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m256 mv = _mm256_set1_ps(wm[r * kMaxBlocks + b]);
#pragma GCC unroll 8
        for (int v = 0; v < V; ++v) {
          float* a = acc + r * acc_stride + kLanes * v;
          _mm256_storeu_ps(
              a, _mm256_fmadd_ps(mv, _mm256_loadu_ps(xm + kLanes * v), _mm256_loadu_ps(a)));
        }
      }
      xm += vs;
    }
    xd += vs;
    if (TINIT) xi += vs;
  }
}

using Micro = void (*)(const uint8_t*, const float*, const float*, const int32_t*, const float*,
                       const int32_t*, const float*, int64_t, int, float*, int64_t);

template <int BK, int G, bool SIGNED, bool TINIT, bool MIN, int R>
Micro micro_for(int v) {
  return v == 1 ? micro<R, 1, BK, G, SIGNED, TINIT, MIN> : micro<R, 2, BK, G, SIGNED, TINIT, MIN>;
}

template <int BK, int G, bool SIGNED, bool TINIT, bool MIN>
Micro micro_for(int r, int v) {
  switch (r) {
    case 1:
      return micro_for<BK, G, SIGNED, TINIT, MIN, 1>(v);
    case 2:
      return micro_for<BK, G, SIGNED, TINIT, MIN, 2>(v);
    case 3:
      return micro_for<BK, G, SIGNED, TINIT, MIN, 3>(v);
    default:
      return micro_for<BK, G, SIGNED, TINIT, MIN, 4>(v);
  }
}

template <int BK, int G, bool SIGNED, bool TINIT, bool MIN>
void job(Unpack unpack, const void* w, size_t row_bytes, int64_t n_in, int64_t rows,
         const int32_t* xc, const float* xd, const int32_t* xi, const float* xm, int64_t n_tv,
         float* y, int64_t n_out, int64_t n_tokens, void* scratch) {
  auto* codes = static_cast<uint8_t*>(scratch);
  auto* ws = reinterpret_cast<float*>(codes + kJobRows * kKci);
  float* wm = ws + kJobRows * kMaxBlocks;
  float* acc = wm + kJobRows * kMaxBlocks;
  const int64_t vs = n_tv * kLanes;
  alignas(32) int32_t xl[kKci / 4 * kNv * kLanes];  // one chunk of kNv token vectors' codes
  std::memset(acc, 0, static_cast<size_t>(rows * vs) * sizeof(float));
  const auto* wbase = static_cast<const uint8_t*>(w);
  for (int64_t k0 = 0; k0 < n_in; k0 += kKci) {
    const int kc = static_cast<int>(n_in - k0 < kKci ? n_in - k0 : kKci);
    const int nb = kc / BK;
    for (int64_t r = 0; r < rows; ++r) {
      unpack(wbase + static_cast<size_t>(r) * row_bytes, k0, kc, codes + r * kKci,
             ws + r * kMaxBlocks, wm + r * kMaxBlocks);
    }
    const int64_t b0 = k0 / BK;
    for (int64_t v0 = 0; v0 < n_tv; v0 += kNv) {
      const int nv = static_cast<int>(n_tv - v0 < kNv ? n_tv - v0 : kNv);
      const int64_t xo = v0 * kLanes;
      for (int g = 0; g < kc / 4; ++g) {
        const int32_t* from = xc + (k0 / 4 + g) * vs + xo;
        for (int v = 0; v < nv; ++v) {
          store256(xl + (g * kNv + v) * kLanes, load256(from + v * kLanes));
        }
      }
      for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
        const int nr = static_cast<int>(rows - r0 < kMr ? rows - r0 : kMr);
        micro_for<BK, G, SIGNED, TINIT, MIN>(nr, nv)(
            codes + r0 * kKci, ws + r0 * kMaxBlocks, wm + r0 * kMaxBlocks, xl, xd + b0 * vs + xo,
            TINIT ? xi + b0 * vs + xo : nullptr, MIN ? xm + b0 * vs + xo : nullptr, vs, nb,
            acc + r0 * vs + xo, vs);
      }
    }
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) y[t * n_out + r] = acc[r * vs + t];
  }
}

}  // namespace

// Per type: its activation layout (gemm_layout_<type>, kernels.h GemmQuantLayout) and its job
// (gemm_job_<type>), whose template parameters come from that layout so the two cannot disagree;
// G and SIGNED follow from the code width (file comment). A job: y[t][r] for r < rows (y at
// column r0 of token 0, rows of n_out), every token. Activations (gemm.cpp packs them): xc
// [n_in/4][n_tv][8] int32 codes; xd, xi, xm [blocks][n_tv][8]. scratch: kJobRows·(kKci +
// 8·kMaxBlocks) bytes + kJobRows·n_tv·8 floats.
#define HEARTH_GEMM_QUANT_JOB(type, BLOCK, OFFSET, MINS, G, SIGNED)                              \
  extern const GemmQuantLayout gemm_layout_##type = {BLOCK, OFFSET, MINS};                       \
  void gemm_job_##type(const void* w, size_t row_bytes, int64_t n_in, int64_t rows,              \
                       const int32_t* xc, const float* xd, const int32_t* xi, const float* xm,   \
                       int64_t n_tv, float* y, int64_t n_out, int64_t n_tokens, void* scratch) { \
    job<BLOCK, G, SIGNED, (OFFSET) != 0, MINS>(unpack_##type, w, row_bytes, n_in, rows, xc, xd,  \
                                               xi, xm, n_tv, y, n_out, n_tokens, scratch);       \
  }
HEARTH_GEMM_QUANT_JOB(q8_0, 32, 0, false, 1, true)
HEARTH_GEMM_QUANT_JOB(q4_0, 32, 8, false, 8, false)
HEARTH_GEMM_QUANT_JOB(q4_k, 32, 0, true, 8, false)
HEARTH_GEMM_QUANT_JOB(q5_k, 32, 0, true, 4, false)
HEARTH_GEMM_QUANT_JOB(q6_k, 16, 32, false, 2, false)
#undef HEARTH_GEMM_QUANT_JOB

}  // namespace hearth::kernels::avx2
