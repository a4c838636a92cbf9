// The per-type kernel tables and the choice of kernel set.
#include "engine/kernels/kernels.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/config.h"
#include "core/error.h"
#include "engine/kernels/reference.h"
#include "engine/kernels/simd_tables.h"

namespace hearth::kernels {

namespace {

namespace ref = reference;
using T = TensorType;

namespace q = quantizer;
// clang-format off
// The scalar reference rows: every type hearth computes with, its activation partner, and the
// weight quantizer of the types `hearth quantize` writes.
const TypeOps kReferenceRows[] = {
  // type     vec_dot  to_float               from_float            vec_dot                   quantize
  {T::f32,    T::f32,  ref::to_float_f32,    ref::from_float_f32,  ref::vec_dot_f32,         ref::from_float_f32},
  {T::f16,    T::f16,  ref::to_float_f16,    ref::from_float_f16,  ref::vec_dot_f16,         ref::from_float_f16},
  {T::bf16,   T::bf16, ref::to_float_bf16,   ref::from_float_bf16, ref::vec_dot_bf16,        ref::from_float_bf16},
  {T::q8_0,   T::q8_0, ref::to_float_q8_0,   ref::from_float_q8_0, ref::vec_dot_q8_0_q8_0,   q::q8_0},
  {T::q8_1,   T::q8_1, ref::to_float_q8_1,   ref::from_float_q8_1, nullptr,                  nullptr},
  {T::q8_k,   T::q8_k, ref::to_float_q8_k,   ref::from_float_q8_k, nullptr,                  nullptr},
  {T::q4_0,   T::q8_0, ref::to_float_q4_0,   nullptr,              ref::vec_dot_q4_0_q8_0,   q::q4_0},
  {T::q4_1,   T::q8_1, ref::to_float_q4_1,   nullptr,              ref::vec_dot_q4_1_q8_1,   q::q4_1},
  {T::q5_0,   T::q8_0, ref::to_float_q5_0,   nullptr,              ref::vec_dot_q5_0_q8_0,   q::q5_0},
  {T::q5_1,   T::q8_1, ref::to_float_q5_1,   nullptr,              ref::vec_dot_q5_1_q8_1,   q::q5_1},
  {T::iq4_nl, T::q8_0, ref::to_float_iq4_nl, nullptr,              ref::vec_dot_iq4_nl_q8_0, q::iq4_nl},
  {T::q2_k,   T::q8_k, ref::to_float_q2_k,   nullptr,              ref::vec_dot_q2_k_q8_k,   q::q2_k},
  {T::q3_k,   T::q8_k, ref::to_float_q3_k,   nullptr,              ref::vec_dot_q3_k_q8_k,   q::q3_k},
  {T::q4_k,   T::q8_k, ref::to_float_q4_k,   nullptr,              ref::vec_dot_q4_k_q8_k,   q::q4_k},
  {T::q5_k,   T::q8_k, ref::to_float_q5_k,   nullptr,              ref::vec_dot_q5_k_q8_k,   q::q5_k},
  {T::q6_k,   T::q8_k, ref::to_float_q6_k,   nullptr,              ref::vec_dot_q6_k_q8_k,   q::q6_k},
};
// clang-format on

TypeOpsTable reference_table() {
  TypeOpsTable table{};
  for (size_t id = 0; id < kTypeIdCount; ++id) table.rows[id].type = static_cast<T>(id);
  for (const TypeOps& row : kReferenceRows) table.rows[static_cast<size_t>(row.type)] = row;
  return table;
}

const TypeOpsTable& table_for(KernelSet set) {
  static const TypeOpsTable reference = reference_table();
  static const TypeOpsTable avx2 = [] {
    TypeOpsTable t = reference_table();
    install_avx2_kernels(t);
    return t;
  }();
  static const TypeOpsTable avx512 = [] {
    TypeOpsTable t = reference_table();
    install_avx2_kernels(t);
    install_avx512_kernels(t);
    return t;
  }();
  switch (set) {
    case KernelSet::avx2:
      return avx2;
    case KernelSet::avx512:
      return avx512;
    case KernelSet::reference:
      break;
  }
  return reference;
}

KernelSet choose_kernel_set() {
  const std::string name = config::get("HEARTH_KERNELS");
  if (name.empty() || name == "auto") {
    if (kernel_set_available(KernelSet::avx512)) return KernelSet::avx512;
    if (kernel_set_available(KernelSet::avx2)) return KernelSet::avx2;
    return KernelSet::reference;
  }
  for (KernelSet set : {KernelSet::reference, KernelSet::avx2, KernelSet::avx512}) {
    if (name != kernel_set_name(set)) continue;
    if (!kernel_set_available(set)) {
      throw Error(ErrorKind::invalid_input,
                  "HEARTH_KERNELS=" + name +
                      ": this CPU does not support it (it has: " + cpu_features().describe() + ")");
    }
    return set;
  }
  throw Error(
      ErrorKind::invalid_input,
      "HEARTH_KERNELS=" + name + ": unknown kernel set (use auto, reference, avx2 or avx512)");
}

}  // namespace

std::string_view kernel_set_name(KernelSet set) {
  switch (set) {
    case KernelSet::reference:
      return "reference";
    case KernelSet::avx2:
      return "avx2";
    case KernelSet::avx512:
      return "avx512";
  }
  return "unknown";
}

bool kernel_set_available(KernelSet set) {
  const CpuFeatures& f = cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  switch (set) {
    case KernelSet::reference:
      return true;
    case KernelSet::avx2:
      return avx2;
    case KernelSet::avx512:
      return avx2 && f.avx512f && f.avx512bw && f.avx512vl;
  }
  return false;
}

KernelSet active_kernel_set() {
  // A throwing initializer leaves the static uninitialized, so a bad value is reported each time.
  static const KernelSet set = choose_kernel_set();
  return set;
}

const TypeOps* type_ops(TensorType type, KernelSet set) {
  const auto id = static_cast<size_t>(type);
  if (id >= kTypeIdCount) return nullptr;
  const TypeOps& row = table_for(set).rows[id];
  return row.to_float ? &row : nullptr;
}

std::span<const TensorType> quantizable_types() {
  static const std::vector<TensorType> types = [] {
    std::vector<TensorType> out;
    for (const TypeOps& row : table_for(KernelSet::reference).rows)
      if (row.quantize != nullptr) out.push_back(row.type);
    return out;
  }();
  return types;
}

size_t row_bytes(TensorType type, int64_t n) {
  const gguf::TensorTypeTraits& t = gguf::traits(type);
  HEARTH_ASSERT(n >= 0 && n % t.block_size == 0, "row length is not a multiple of the block size");
  return static_cast<size_t>(n / t.block_size) * t.type_size;
}

}  // namespace hearth::kernels
