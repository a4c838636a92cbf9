// Commands' row-wise operations: rmsnorm, rope, add, add_bias, add_scaled_rows, copy_rows,
// swiglu, geglu. Each is one dispatch of the shader of the same name.
#include "core/error.h"
#include "gpu/recorder.h"

namespace hearth::gpu {

namespace {

constexpr uint64_t kWG = 64;  // invocations per workgroup (shaders/common.glsl)

uint64_t groups_for(int64_t items) {
  return (static_cast<uint64_t>(items) + kWG - 1) / kWG;
}
uint64_t floats(int64_t n) {
  return static_cast<uint64_t>(n) * 4;
}
// Bytes of T rows of n floats `stride` apart.
uint64_t rows_bytes(int64_t T, int64_t n, int64_t stride) {
  return floats((T - 1) * stride + n);
}

}  // namespace

void Commands::rmsnorm(Span x, Span weight, Span out, int64_t rows, int n, float eps) {
  if (rows <= 0 || n <= 0) return;
  need_bytes(x, floats(rows * n), "rmsnorm", "x");
  need_bytes(weight, floats(n), "rmsnorm", "weight");
  need_bytes(out, floats(rows * n), "rmsnorm", "out");
  state_->dispatch("rmsnorm", {x, weight, out}, Params().u(n).f(eps), static_cast<uint64_t>(rows));
}

void Commands::rope(Span x, int64_t T, int n_heads, int head_dim, int64_t row_stride, Rope style,
                    Span cos, Span sin) {
  if (T <= 0 || n_heads <= 0) return;
  if (head_dim <= 0 || head_dim % 2 != 0)
    throw Error(ErrorKind::invalid_input,
                "GPU rope: head_dim " + std::to_string(head_dim) + " is not even");
  need_bytes(x, rows_bytes(T, int64_t{n_heads} * head_dim, row_stride), "rope", "x");
  need_bytes(cos, floats(T * head_dim / 2), "rope", "cos");
  need_bytes(sin, floats(T * head_dim / 2), "rope", "sin");
  const int64_t pairs = T * n_heads * (head_dim / 2);
  state_->dispatch(
      "rope", {x, cos, sin},
      Params().u(pairs).u(n_heads).u(head_dim).u(row_stride).u(style == Rope::neox ? 1 : 0),
      groups_for(pairs));
}

void Commands::add(Span a, Span b, Span out, int64_t n) {
  if (n <= 0) return;
  need_bytes(a, floats(n), "add", "a");
  need_bytes(b, floats(n), "add", "b");
  need_bytes(out, floats(n), "add", "out");
  state_->dispatch("add", {a, b, out}, Params().u(n), groups_for(n));
}

void Commands::add_bias(Span x, Span bias, int64_t T, int n, int64_t stride) {
  if (T <= 0 || n <= 0) return;
  need_bytes(x, rows_bytes(T, n, stride), "add_bias", "x");
  need_bytes(bias, floats(n), "add_bias", "bias");
  state_->dispatch("add_bias", {x, bias}, Params().u(T * n).u(n).u(stride), groups_for(T * n));
}

void Commands::add_scaled_rows(Span y, Span x, Span mask, int64_t T, int64_t n, float scale) {
  if (T <= 0 || n <= 0) return;
  need_bytes(y, floats(T * n), "add_scaled_rows", "y");
  need_bytes(x, floats(T * n), "add_scaled_rows", "x");
  need_bytes(mask, floats(T), "add_scaled_rows", "mask");
  state_->dispatch("add_scaled_rows", {y, x, mask}, Params().u(T * n).u(n).f(scale),
                   groups_for(T * n));
}

void Commands::copy_rows(Span src, int64_t src_stride, Span dst, int64_t dst_stride, int64_t T,
                         int64_t n) {
  if (T <= 0 || n <= 0) return;
  need_bytes(src, rows_bytes(T, n, src_stride), "copy_rows", "src");
  need_bytes(dst, rows_bytes(T, n, dst_stride), "copy_rows", "dst");
  state_->dispatch("copy_rows", {src, dst}, Params().u(T * n).u(n).u(src_stride).u(dst_stride),
                   groups_for(T * n));
}

namespace {

void glu(auto& s, const char* name, Span g, Span u, Span out, int64_t T, int F, int64_t in_stride) {
  if (T <= 0 || F <= 0) return;
  need_bytes(g, rows_bytes(T, F, in_stride), name, "g");
  need_bytes(u, rows_bytes(T, F, in_stride), name, "u");
  need_bytes(out, floats(T * F), name, "out");
  s.dispatch(name, {g, u, out}, Params().u(T * F).u(F).u(in_stride), groups_for(T * F));
}

}  // namespace

void Commands::swiglu(Span g, Span u, Span out, int64_t T, int F, int64_t in_stride) {
  glu(*state_, "swiglu", g, u, out, T, F, in_stride);
}

void Commands::geglu(Span g, Span u, Span out, int64_t T, int F, int64_t in_stride) {
  glu(*state_, "geglu", g, u, out, T, F, in_stride);
}

}  // namespace hearth::gpu
