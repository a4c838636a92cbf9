// Commands::matmul and matmul_experts: the shaders matmul_<type> and matmul_experts_<type>.
#include <string>

#include "core/error.h"
#include "gpu/recorder.h"

namespace hearth::gpu {

namespace {

// The shader suffix of a weight type, or nullptr when there is no shader for it.
const char* type_suffix(TensorType type) {
  switch (type) {
    case TensorType::f32:
      return "f32";
    case TensorType::f16:
      return "f16";
    case TensorType::q8_0:
      return "q8_0";
    case TensorType::q4_0:
      return "q4_0";
    case TensorType::q4_k:
      return "q4_k";
    case TensorType::q5_k:
      return "q5_k";
    case TensorType::q6_k:
      return "q6_k";
    default:
      return nullptr;
  }
}

// Bytes of one weight row, after checking the matrix has a shader and whole blocks.
uint64_t checked_row_bytes(const Matrix& w, const char* op) {
  const char* suffix = type_suffix(w.type);
  if (suffix == nullptr)
    throw Error(ErrorKind::unsupported, std::string("GPU ") + op + ": no shader for " +
                                            std::string(gguf::tensor_type_name(w.type)) +
                                            " weights");
  const auto& t = gguf::traits(w.type);
  if (w.n_in <= 0 || w.n_out <= 0 || w.n_in % t.block_size != 0)
    throw Error(ErrorKind::invalid_input, std::string("GPU ") + op + ": a " + std::string(t.name) +
                                              " matrix of " + std::to_string(w.n_in) + " x " +
                                              std::to_string(w.n_out) + " is not whole blocks");
  const uint64_t row = static_cast<uint64_t>(w.n_in) / t.block_size * t.type_size;
  return row;
}

}  // namespace

bool supports(TensorType type) {
  return type_suffix(type) != nullptr;
}

void Commands::matmul(const Matrix& w, Span x, int64_t T, Span y) {
  const uint64_t row = checked_row_bytes(w, "matmul");
  if (T <= 0) return;
  need_bytes(w.data, row * static_cast<uint64_t>(w.n_out), "matmul", "the weight matrix");
  need_bytes(x, static_cast<uint64_t>(T * w.n_in) * 4, "matmul", "x");
  need_bytes(y, static_cast<uint64_t>(T * w.n_out) * 4, "matmul", "y");
  Params params;
  params.u(w.n_in).u(w.n_out).u(static_cast<int64_t>(row)).u(T);
  state_->dispatch(std::string("matmul_") + type_suffix(w.type), {w.data, x, y}, params,
                   static_cast<uint64_t>(w.n_out));
}

void Commands::matmul_experts(const Matrix& w, uint64_t expert_stride, Span x, Span ids, int64_t T,
                              int K, Span y) {
  const uint64_t row = checked_row_bytes(w, "matmul_experts");
  if (T <= 0 || K <= 0) return;
  if (expert_stride < row * static_cast<uint64_t>(w.n_out))
    throw Error(
        ErrorKind::invalid_input,
        "GPU matmul_experts: experts " + std::to_string(expert_stride) + " bytes apart overlap");
  const uint64_t n_expert =
      w.data.bytes / expert_stride +
      (w.data.bytes % expert_stride >= row * static_cast<uint64_t>(w.n_out) ? 1 : 0);
  if (n_expert == 0)
    need_bytes(w.data, row * static_cast<uint64_t>(w.n_out), "matmul_experts", "the experts");
  need_bytes(x, static_cast<uint64_t>(T * w.n_in) * 4, "matmul_experts", "x");
  need_bytes(ids, static_cast<uint64_t>(T * K) * 4, "matmul_experts", "ids");
  need_bytes(y, static_cast<uint64_t>(T * K * w.n_out) * 4, "matmul_experts", "y");
  Params params;
  params.u(w.n_in).u(w.n_out).u(static_cast<int64_t>(row)).u(T * K);
  params.u(K).u(static_cast<int64_t>(expert_stride)).u(static_cast<int64_t>(n_expert));
  state_->dispatch(std::string("matmul_experts_") + type_suffix(w.type), {w.data, x, ids, y},
                   params, static_cast<uint64_t>(w.n_out));
}

}  // namespace hearth::gpu
