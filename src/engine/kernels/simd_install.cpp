// The hook through which the SIMD kernels replace reference rows (see simd_tables.h).
//
// Compiled for the baseline ISA: it only stores the addresses of kernels defined in the
// *_avx2.cpp / *_avx512.cpp files (declared here, in their own namespaces), never calls them.
//   simd_float_avx2.cpp / simd_float_avx512.cpp   F32, F16, BF16
//   simd_quant_avx2.cpp                           Q8_0/Q8_1/Q8_K quantizers, integer dot products
//   simd_quant_avx512.cpp                         the same, built for AVX-512 VL + VNNI
//   simd_quant_multi_avx2.cpp                     multi-row dots (vec_dot_multi): Q4_0
//   simd_quant_multi_avx512.cpp                   multi-row dots, VNNI: Q4_0 Q8_0 Q4_K Q6_K
//   gemm_float_avx512.cpp, gemm_quant_avx512.cpp   blocked GEMM jobs (F32 F16 BF16; VNNI: Q8_0
//                                                  Q4_0 Q4_K Q5_K Q6_K), 16-token vectors
//   gemm_float_avx2.cpp, gemm_quant_avx2.cpp       the same types, 8-token vectors
#include "core/cpu_features.h"
#include "engine/kernels/simd_tables.h"

namespace hearth::kernels {

namespace {

using ToFloat = void (*)(const void*, float*, int64_t);
using FromFloat = void (*)(const float*, void*, int64_t);
using VecDot = float (*)(int64_t, const void*, const void*);

TypeOps& row(TypeOpsTable& table, TensorType type) {
  return table.rows[static_cast<size_t>(type)];
}

}  // namespace

// clang-format off
#define HEARTH_DECLARE_SIMD_KERNELS                                        \
  void to_float_f16(const void* in, float* out, int64_t n);                \
  void from_float_f16(const float* in, void* out, int64_t n);              \
  void to_float_bf16(const void* in, float* out, int64_t n);               \
  void from_float_bf16(const float* in, void* out, int64_t n);             \
  float vec_dot_f32(int64_t n, const void* w, const void* x);              \
  float vec_dot_f16(int64_t n, const void* w, const void* x);              \
  float vec_dot_bf16(int64_t n, const void* w, const void* x);             \
  void from_float_q8_0(const float* in, void* out, int64_t n);             \
  void from_float_q8_1(const float* in, void* out, int64_t n);             \
  void from_float_q8_k(const float* in, void* out, int64_t n);             \
  float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* x);        \
  float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* x);        \
  float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* x);        \
  float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* x);        \
  float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* x);        \
  float vec_dot_iq4_nl_q8_0(int64_t n, const void* w, const void* x);      \
  float vec_dot_q2_k_q8_k(int64_t n, const void* w, const void* x);        \
  float vec_dot_q3_k_q8_k(int64_t n, const void* w, const void* x);        \
  float vec_dot_q4_k_q8_k(int64_t n, const void* w, const void* x);        \
  float vec_dot_q5_k_q8_k(int64_t n, const void* w, const void* x);        \
  float vec_dot_q6_k_q8_k(int64_t n, const void* w, const void* x);
// clang-format on

namespace avx2 {
HEARTH_DECLARE_SIMD_KERNELS
}
namespace avx512 {
HEARTH_DECLARE_SIMD_KERNELS
}
#undef HEARTH_DECLARE_SIMD_KERNELS

// Blocked GEMM jobs (signatures in kernels.h), declared in both sets' namespaces.
#define HEARTH_DECLARE_GEMM_JOBS                                                                 \
  void gemm_float_job(TensorType type, const void* w, size_t row_bytes, int64_t n_in,            \
                      int64_t rows, const float* xp, int64_t n_tv, float* y, int64_t n_out,      \
                      int64_t n_tokens, float* scratch);                                         \
  HEARTH_DECLARE_GEMM_QUANT_JOB(q8_0)                                                            \
  HEARTH_DECLARE_GEMM_QUANT_JOB(q4_0)                                                            \
  HEARTH_DECLARE_GEMM_QUANT_JOB(q4_k)                                                            \
  HEARTH_DECLARE_GEMM_QUANT_JOB(q5_k)                                                            \
  HEARTH_DECLARE_GEMM_QUANT_JOB(q6_k)
#define HEARTH_DECLARE_GEMM_QUANT_JOB(type)                                                      \
  extern const GemmQuantLayout gemm_layout_##type;                                               \
  void gemm_job_##type(const void* w, size_t row_bytes, int64_t n_in, int64_t rows,              \
                       const int32_t* xc, const float* xd, const int32_t* xi, const float* xm,   \
                       int64_t n_tv, float* y, int64_t n_out, int64_t n_tokens, void* scratch);

namespace avx2 {
size_t multi_row_bytes_q4_0(int64_t n);
void multi_prepare_q4_0(const void* x, void* prepared, int64_t n);
void vec_dot_multi_q4_0(int64_t n, const void* w, const void* x, size_t stride, int nx, float* out);
HEARTH_DECLARE_GEMM_JOBS
}  // namespace avx2

namespace avx512 {
size_t multi_row_bytes_q4_0(int64_t n);
void multi_prepare_q4_0(const void* x, void* prepared, int64_t n);
size_t multi_row_bytes_q8_0(int64_t n);
void multi_prepare_q8_0(const void* x, void* prepared, int64_t n);
void vec_dot_multi_q4_0(int64_t n, const void* w, const void* x, size_t stride, int nx, float* out);
void vec_dot_multi_q8_0(int64_t n, const void* w, const void* x, size_t stride, int nx, float* out);
void vec_dot_multi_q6_k(int64_t n, const void* w, const void* x, size_t stride, int nx, float* out);
void vec_dot_multi_q4_k(int64_t n, const void* w, const void* x, size_t stride, int nx, float* out);
HEARTH_DECLARE_GEMM_JOBS
}  // namespace avx512
#undef HEARTH_DECLARE_GEMM_QUANT_JOB
#undef HEARTH_DECLARE_GEMM_JOBS

namespace {

// The GEMM jobs of one set: the float job for F32, F16, BF16; each integer type's job and the
// activation layout it reads (lanes: tokens per token vector of these jobs).
void install_gemm_float(TypeOpsTable& table, GemmFloatJob job, int lanes) {
  for (TensorType t : {TensorType::f32, TensorType::f16, TensorType::bf16}) {
    row(table, t).gemm_float_job = job;
    row(table, t).gemm_lanes = lanes;
  }
}

void install_gemm_quant(TypeOpsTable& table, TensorType t, GemmQuantJob job,
                        const GemmQuantLayout& layout, int lanes) {
  row(table, t).gemm_quant_job = job;
  row(table, t).gemm_quant = layout;
  row(table, t).gemm_lanes = lanes;
}

// The float rows of one set (simd_float_*.cpp).
void install_float_rows(TypeOpsTable& table, ToFloat to_f16, FromFloat from_f16, ToFloat to_bf16,
                        FromFloat from_bf16, VecDot dot_f32, VecDot dot_f16, VecDot dot_bf16) {
  row(table, TensorType::f32).vec_dot = dot_f32;
  TypeOps& f16 = row(table, TensorType::f16);
  f16.to_float = to_f16;
  f16.from_float = from_f16;
  f16.vec_dot = dot_f16;
  TypeOps& bf16 = row(table, TensorType::bf16);
  bf16.to_float = to_bf16;
  bf16.from_float = from_bf16;
  bf16.vec_dot = dot_bf16;
}

}  // namespace

void install_avx2_kernels(TypeOpsTable& table) {
  using T = TensorType;
  install_float_rows(table, avx2::to_float_f16, avx2::from_float_f16, avx2::to_float_bf16,
                     avx2::from_float_bf16, avx2::vec_dot_f32, avx2::vec_dot_f16,
                     avx2::vec_dot_bf16);
  row(table, T::q8_0).from_float = avx2::from_float_q8_0;
  row(table, T::q8_1).from_float = avx2::from_float_q8_1;
  row(table, T::q8_k).from_float = avx2::from_float_q8_k;
  row(table, T::q8_0).vec_dot = avx2::vec_dot_q8_0_q8_0;
  row(table, T::q4_0).vec_dot = avx2::vec_dot_q4_0_q8_0;
  row(table, T::q4_1).vec_dot = avx2::vec_dot_q4_1_q8_1;
  row(table, T::q5_0).vec_dot = avx2::vec_dot_q5_0_q8_0;
  row(table, T::q5_1).vec_dot = avx2::vec_dot_q5_1_q8_1;
  row(table, T::iq4_nl).vec_dot = avx2::vec_dot_iq4_nl_q8_0;
  row(table, T::q2_k).vec_dot = avx2::vec_dot_q2_k_q8_k;
  row(table, T::q3_k).vec_dot = avx2::vec_dot_q3_k_q8_k;
  row(table, T::q4_k).vec_dot = avx2::vec_dot_q4_k_q8_k;
  row(table, T::q5_k).vec_dot = avx2::vec_dot_q5_k_q8_k;
  row(table, T::q6_k).vec_dot = avx2::vec_dot_q6_k_q8_k;
  row(table, T::q4_0).multi_row_bytes = avx2::multi_row_bytes_q4_0;
  row(table, T::q4_0).multi_prepare = avx2::multi_prepare_q4_0;
  row(table, T::q4_0).vec_dot_multi = avx2::vec_dot_multi_q4_0;
  // The blocked GEMM (gemm.h), 8-token vectors; the avx512 set replaces the float jobs, and the
  // integer ones where the CPU has VNNI.
  install_gemm_float(table, avx2::gemm_float_job, 8);
  install_gemm_quant(table, T::q8_0, avx2::gemm_job_q8_0, avx2::gemm_layout_q8_0, 8);
  install_gemm_quant(table, T::q4_0, avx2::gemm_job_q4_0, avx2::gemm_layout_q4_0, 8);
  install_gemm_quant(table, T::q4_k, avx2::gemm_job_q4_k, avx2::gemm_layout_q4_k, 8);
  install_gemm_quant(table, T::q5_k, avx2::gemm_job_q5_k, avx2::gemm_layout_q5_k, 8);
  install_gemm_quant(table, T::q6_k, avx2::gemm_job_q6_k, avx2::gemm_layout_q6_k, 8);
}

void install_avx512_kernels(TypeOpsTable& table) {
  using T = TensorType;
  // AVX-512 F/BW/VL (what kernel_set_available(avx512) checks).
  install_float_rows(table, avx512::to_float_f16, avx512::from_float_f16, avx512::to_float_bf16,
                     avx512::from_float_bf16, avx512::vec_dot_f32, avx512::vec_dot_f16,
                     avx512::vec_dot_bf16);
  // The float GEMM (gemm.h).
  install_gemm_float(table, avx512::gemm_float_job, 16);
  // The integer kernels need VNNI too; without it the AVX2 rows (GEMM jobs included) stay.
  if (!cpu_features().avx512vnni) return;
  // The integer GEMM: each type's job and the activation layout it reads.
  install_gemm_quant(table, T::q8_0, avx512::gemm_job_q8_0, avx512::gemm_layout_q8_0, 16);
  install_gemm_quant(table, T::q4_0, avx512::gemm_job_q4_0, avx512::gemm_layout_q4_0, 16);
  install_gemm_quant(table, T::q4_k, avx512::gemm_job_q4_k, avx512::gemm_layout_q4_k, 16);
  install_gemm_quant(table, T::q5_k, avx512::gemm_job_q5_k, avx512::gemm_layout_q5_k, 16);
  install_gemm_quant(table, T::q6_k, avx512::gemm_job_q6_k, avx512::gemm_layout_q6_k, 16);
  row(table, T::q8_0).from_float = avx512::from_float_q8_0;
  row(table, T::q8_1).from_float = avx512::from_float_q8_1;
  row(table, T::q8_k).from_float = avx512::from_float_q8_k;
  row(table, T::q8_0).vec_dot = avx512::vec_dot_q8_0_q8_0;
  row(table, T::q4_0).vec_dot = avx512::vec_dot_q4_0_q8_0;
  row(table, T::q4_1).vec_dot = avx512::vec_dot_q4_1_q8_1;
  row(table, T::q5_0).vec_dot = avx512::vec_dot_q5_0_q8_0;
  row(table, T::q5_1).vec_dot = avx512::vec_dot_q5_1_q8_1;
  row(table, T::iq4_nl).vec_dot = avx512::vec_dot_iq4_nl_q8_0;
  row(table, T::q2_k).vec_dot = avx512::vec_dot_q2_k_q8_k;
  row(table, T::q3_k).vec_dot = avx512::vec_dot_q3_k_q8_k;
  row(table, T::q4_k).vec_dot = avx512::vec_dot_q4_k_q8_k;
  row(table, T::q5_k).vec_dot = avx512::vec_dot_q5_k_q8_k;
  row(table, T::q6_k).vec_dot = avx512::vec_dot_q6_k_q8_k;
  // Multi-row dots; Q4_0 / Q8_0 read their own prepared activation layout, the K-quants Q8_K.
  row(table, T::q4_0).multi_row_bytes = avx512::multi_row_bytes_q4_0;
  row(table, T::q4_0).multi_prepare = avx512::multi_prepare_q4_0;
  row(table, T::q8_0).multi_row_bytes = avx512::multi_row_bytes_q8_0;
  row(table, T::q8_0).multi_prepare = avx512::multi_prepare_q8_0;
  row(table, T::q4_0).vec_dot_multi = avx512::vec_dot_multi_q4_0;
  row(table, T::q8_0).vec_dot_multi = avx512::vec_dot_multi_q8_0;
  row(table, T::q6_k).vec_dot_multi = avx512::vec_dot_multi_q6_k;
  row(table, T::q4_k).vec_dot_multi = avx512::vec_dot_multi_q4_k;
}

}  // namespace hearth::kernels
