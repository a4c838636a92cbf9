// How the SIMD kernel sets get into the per-type table (internal to the kernels library).
//
// kernels.cpp builds each set's table once: every row starts as the scalar reference row; the
// avx2 table is then passed to install_avx2_kernels, and the avx512 table to install_avx2_kernels
// followed by install_avx512_kernels (every AVX-512 CPU hearth selects also has AVX2, so rows
// without an AVX-512 version keep the AVX2 one). An install function replaces only the function
// pointers it speeds up and must not change type or vec_dot_type (the activation format is part
// of the arithmetic the conformance references pin down).
//
// The install functions are defined in simd_install.cpp, which is compiled for the baseline ISA:
// it may only store pointers to functions defined in *_avx2.cpp / *_avx512.cpp, never run them.
// They are only ever called when building the tables, never executed kernels themselves.
#pragma once

#include <cstddef>

#include "engine/kernels/kernels.h"

namespace hearth::kernels {

// Indexed by the numeric tensor type id; rows with no to_float are types hearth cannot use.
// A plain array, not std::array: SIMD files may include this header, and they must not
// instantiate inline library code (see blocks.h).
inline constexpr size_t kTypeIdCount = 40;
struct TypeOpsTable {
  TypeOps rows[kTypeIdCount];
};

void install_avx2_kernels(TypeOpsTable& table);
void install_avx512_kernels(TypeOpsTable& table);

}  // namespace hearth::kernels
