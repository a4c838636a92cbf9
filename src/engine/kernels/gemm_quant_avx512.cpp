// AVX-512 VNNI GEMM kernels for the integer weight types (Q8_0, Q4_0 against Q8_0 activations;
// Q4_K, Q5_K, Q6_K against Q8_K): one job = up to kJobRows weight rows × all tokens (gemm.h).
//
// Every type is brought to one form per block of BK values (BK = 32, 16 for Q6_K):
//   Σ_i w_i x_i = dx · ( S_r · (Σ_i u_i q_i + T_t) + M_r · X_t )
// with u the weight codes as unsigned bytes, q the activation codes (int8), S_r the weight
// block's F32 scale, M_r its F32 minimum term (K-quants with mins), and per token: dx the
// activation scale, T_t an integer offset (−128·Σq for Q8_0, whose codes are stored +128;
// −8·Σq for Q4_0; −32·Σq for Q6_K) and X_t = dx·Σq (for the minimum). Σ u·q + T is the exact
// integer block sum the vec_dot kernels form; only the F32 order of the block terms differs.
//
// Per chunk of kKci values the job's rows are unpacked once (codes to bytes in value order, block
// scales to F32) into scratch, then the microkernel runs kMr rows × kNv token vectors: per 4
// values, kNv activation vectors ([k/4][token] int32) and kMr broadcast weight words, kMr·kNv
// vpdpbusd into int32 block sums; per block, one conversion and FMA per accumulator.
//
// Compiled with the AVX-512 + VNNI flags: only kernels here, called only after the CPU check
// (simd_tables.h rules); gemm.cpp installs them only when the CPU has AVX-512 VNNI.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/blocks.h"
#include "engine/kernels/kernels.h"

namespace hearth::kernels::avx512 {
namespace {

constexpr int kJobRows = 48;  // gemm.cpp: kGemmJobRows
constexpr int kKci = 256;     // K values per chunk (one K-quant super-block)
constexpr int kMaxBlocks = kKci / 16;
constexpr int kMr = 6;
constexpr int kNv = 2;

#include "engine/kernels/gemm_unpack.inc"

// ---- weight unpacking: values [k0, k0 + kc) of one row -> codes (bytes), s / m per block ----

void unpack_q8_0(const void* row, int64_t k0, int kc, uint8_t* codes, float* s, float*) {
  const auto* b = static_cast<const block_q8_0*>(row) + k0 / QK8_0;
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int i = 0; i < kc / QK8_0; ++i) {
    store256(codes + 32 * i, _mm256_xor_si256(load256(b[i].qs), bias));
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

// acc[r][v] (+)= over nb blocks of BK values (see the file comment). wc: rows of kKci codes;
// ws / wm: rows of kMaxBlocks F32; xc: [k/4][vs] int32 codes at this chunk and token vector (vs:
// the tile row, kNv·16); xd / xi / xm: [block][vs] scales, integer offsets, minimum terms.
template <int R, int V, int BK, bool TINIT, bool MIN>
void micro(const uint8_t* wc, const float* ws, const float* wm, const int32_t* xc,
           const float* xd, const int32_t* xi, const float* xm, int64_t vs, int nb, float* acc,
           int64_t acc_stride, bool first) {
  __m512 c[R][V];
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) {
      c[r][v] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(acc + r * acc_stride + 16 * v);
    }
  }
  for (int b = 0; b < nb; ++b) {
    __m512i s[R][V];
    for (int v = 0; v < V; ++v) {
      const __m512i t = TINIT ? _mm512_loadu_si512(xi + 16 * v) : _mm512_setzero_si512();
      for (int r = 0; r < R; ++r) s[r][v] = t;
    }
#pragma GCC unroll 8
    for (int g = 0; g < BK / 4; ++g) {
      __m512i x[V];
      for (int v = 0; v < V; ++v) x[v] = _mm512_loadu_si512(xc + 16 * v);
      for (int r = 0; r < R; ++r) {
        int32_t word;
        std::memcpy(&word, wc + r * kKci + b * BK + 4 * g, sizeof word);
        const __m512i wv = _mm512_set1_epi32(word);
        for (int v = 0; v < V; ++v) s[r][v] = _mm512_dpbusd_epi32(s[r][v], wv, x[v]);
      }
      xc += vs;
    }
    __m512 d[V];
    for (int v = 0; v < V; ++v) d[v] = _mm512_loadu_ps(xd + 16 * v);
    for (int r = 0; r < R; ++r) {
      const __m512 sc = _mm512_set1_ps(ws[r * kMaxBlocks + b]);
      for (int v = 0; v < V; ++v) {
        c[r][v] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[r][v]), _mm512_mul_ps(sc, d[v]), c[r][v]);
      }
    }
    if (MIN) {
      __m512 xmv[V];
      for (int v = 0; v < V; ++v) xmv[v] = _mm512_loadu_ps(xm + 16 * v);
      for (int r = 0; r < R; ++r) {
        const __m512 mv = _mm512_set1_ps(wm[r * kMaxBlocks + b]);
        for (int v = 0; v < V; ++v) c[r][v] = _mm512_fmadd_ps(mv, xmv[v], c[r][v]);
      }
      xm += vs;
    }
    xd += vs;
    if (TINIT) xi += vs;
  }
  for (int r = 0; r < R; ++r) {
    for (int v = 0; v < V; ++v) _mm512_storeu_ps(acc + r * acc_stride + 16 * v, c[r][v]);
  }
}

using Micro = void (*)(const uint8_t*, const float*, const float*, const int32_t*, const float*,
                       const int32_t*, const float*, int64_t, int, float*, int64_t, bool);

template <int BK, bool TINIT, bool MIN, int R>
Micro micro_for(int v) {
  return v == 1 ? micro<R, 1, BK, TINIT, MIN> : micro<R, 2, BK, TINIT, MIN>;
}

template <int BK, bool TINIT, bool MIN>
Micro micro_for(int r, int v) {
  switch (r) {
    case 1:
      return micro_for<BK, TINIT, MIN, 1>(v);
    case 2:
      return micro_for<BK, TINIT, MIN, 2>(v);
    case 3:
      return micro_for<BK, TINIT, MIN, 3>(v);
    case 4:
      return micro_for<BK, TINIT, MIN, 4>(v);
    case 5:
      return micro_for<BK, TINIT, MIN, 5>(v);
    default:
      return micro_for<BK, TINIT, MIN, 6>(v);
  }
}

template <int BK, bool TINIT, bool MIN>
void job(Unpack unpack, const void* w, size_t row_bytes, int64_t n_in, int64_t rows,
         const int32_t* xc, const float* xd, const int32_t* xi, const float* xm, int64_t n_tv,
         float* y, int64_t n_out, int64_t n_tokens, void* scratch) {
  auto* codes = static_cast<uint8_t*>(scratch);
  auto* ws = reinterpret_cast<float*>(codes + kJobRows * kKci);
  float* wm = ws + kJobRows * kMaxBlocks;
  float* acc = wm + kJobRows * kMaxBlocks;
  const int64_t vs = n_tv * 16;  // accumulator row
  const int64_t ts = kNv * 16;   // activation tile row
  const auto* wbase = static_cast<const uint8_t*>(w);
  for (int64_t k0 = 0; k0 < n_in; k0 += kKci) {
    const int kc = static_cast<int>(n_in - k0 < kKci ? n_in - k0 : kKci);
    const int nb = kc / BK;
    // A chunk's bytes in a row (kKci values: whole blocks and super-blocks of every type).
    const size_t chunk_bytes = row_bytes * kKci / static_cast<size_t>(n_in);
    for (int64_t r = 0; r < rows; ++r) {
      const uint8_t* row = wbase + static_cast<size_t>(r) * row_bytes;
      unpack(row, k0, kc, codes + r * kKci, ws + r * kMaxBlocks, wm + r * kMaxBlocks);
      // The row's next chunk is fetched while the microkernels work on this one (a hint: it
      // never faults, even where a short last chunk ends before it does).
      if (k0 + kKci < n_in) {
        const uint8_t* next = row + static_cast<size_t>((k0 + kKci) / kKci) * chunk_bytes;
        for (size_t b = 0; b < chunk_bytes; b += 64)
          _mm_prefetch(reinterpret_cast<const char*>(next + b), _MM_HINT_T0);
      }
    }
    const bool first = k0 == 0;
    const int64_t b0 = k0 / BK;
    for (int64_t v0 = 0; v0 < n_tv; v0 += kNv) {
      const int nv = static_cast<int>(n_tv - v0 < kNv ? n_tv - v0 : kNv);
      // This tile's rows: codes [n_in/4][kNv·16], block terms [n_in/BK][kNv·16].
      const int64_t tile = v0 / kNv;
      const int32_t* tc = xc + (tile * (n_in / 4) + k0 / 4) * ts;
      const int64_t tb = (tile * (n_in / BK) + b0) * ts;
      for (int64_t r0 = 0; r0 < rows; r0 += kMr) {
        const int nr = static_cast<int>(rows - r0 < kMr ? rows - r0 : kMr);
        micro_for<BK, TINIT, MIN>(nr, nv)(
            codes + r0 * kKci, ws + r0 * kMaxBlocks, wm + r0 * kMaxBlocks, tc, xd + tb,
            TINIT ? xi + tb : nullptr, MIN ? xm + tb : nullptr, ts, nb, acc + r0 * vs + v0 * 16,
            vs, first);
      }
    }
  }
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) y[t * n_out + r] = acc[r * vs + t];
  }
}

}  // namespace

// Per type: its activation layout (gemm_layout_<type>, kernels.h GemmQuantLayout: values per
// weight scale, the codes' stored offset, minimum terms) and its job (gemm_job_<type>), whose
// template parameters come from that layout so the two cannot disagree; simd_install.cpp puts
// both into the type's row. A job: y[t][r] for r < rows (y at column r0 of token 0, rows of
// n_out), every token. w: the job's first weight row. Activations (gemm.cpp packs them): xc
// per tile of kNv token vectors [n_in/4][kNv][16] int32 codes; xd, xi, xm [blocks][kNv][16] (xi unused for Q4_K/Q5_K, xm only
// for them). scratch: kJobRows·(kKci + 8·kMaxBlocks) bytes + kJobRows·n_tv·16 floats.
#define HEARTH_GEMM_QUANT_JOB(type, BLOCK, OFFSET, MINS)                                          \
  extern const GemmQuantLayout gemm_layout_##type = {BLOCK, OFFSET, MINS};                       \
  void gemm_job_##type(const void* w, size_t row_bytes, int64_t n_in, int64_t rows,              \
                       const int32_t* xc, const float* xd, const int32_t* xi, const float* xm,   \
                       int64_t n_tv, float* y, int64_t n_out, int64_t n_tokens, void* scratch) { \
    job<BLOCK, (OFFSET) != 0, MINS>(unpack_##type, w, row_bytes, n_in, rows, xc, xd, xi, xm,     \
                                    n_tv, y, n_out, n_tokens, scratch);                          \
  }
HEARTH_GEMM_QUANT_JOB(q8_0, 32, 128, false)
HEARTH_GEMM_QUANT_JOB(q4_0, 32, 8, false)
HEARTH_GEMM_QUANT_JOB(q4_k, 32, 0, true)
HEARTH_GEMM_QUANT_JOB(q5_k, 32, 0, true)
HEARTH_GEMM_QUANT_JOB(q6_k, 16, 32, false)
#undef HEARTH_GEMM_QUANT_JOB

}  // namespace hearth::kernels::avx512
