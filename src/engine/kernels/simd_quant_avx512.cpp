// The quantized kernels of simd_quant_avx2.cpp compiled for AVX-512 VL + VNNI: integer dot
// products with vpdpbusd / vpdpwssd, kernels in hearth::kernels::avx512. Installed only when the
// CPU has AVX-512 VNNI (simd_install.cpp); compiled with the AVX-512 flags, so it holds nothing
// but these kernels.
// GCC 12 at -O3 reports the deliberately undefined pass-through operands of AVX-512 intrinsics
// (_mm512_undefined_*, e.g. inside _mm512_reduce_add_ps / _mm512_cvtph_ps) as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#define HEARTH_SIMD_VNNI 1
#define HEARTH_SIMD_NAMESPACE avx512
#include "simd_quant_avx2.cpp"  // NOLINT(bugprone-suspicious-include)
