// GpuLayers' state, shared by its two halves: gpu_upload.cpp (the device, the weights, the KV
// cache, adapters) and gpu_layers.cpp (recording and running a pass). Internal.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/gpu_layers.h"
#include "gpu/gpu.h"
#include "gpu/ops.h"

namespace hearth::model {

// Places pieces in one buffer, 256-byte aligned. Run a layout twice: without a buffer it only
// counts (size), with one it uploads each piece and gives its Span.
struct GpuPacker {
  gpu::Buffer* buffer = nullptr;
  uint64_t size = 0;
  gpu::Span add(const void* data, uint64_t bytes);
  gpu::Span add(const std::vector<float>& v) { return add(v.data(), v.size() * sizeof(float)); }
  // Room without contents (scratch).
  gpu::Span reserve(uint64_t bytes) { return add(nullptr, bytes); }
};

// One offloaded layer: its weights in one buffer, its K and V cache rows in two.
struct GpuLayer {
  std::unique_ptr<gpu::Buffer> weights;
  // The model's matrix → its copy on the device (LoRA terms are found by the model's matrix).
  std::map<const WeightMatrix*, gpu::Matrix> matrices;
  gpu::Span attn_norm, bq, bk, bv, q_norm, k_norm, attn_post_norm, ffn_norm, ffn_post_norm;
  gpu::Matrix exp_gate, exp_up, exp_down;  // the stacked experts, each expert_stride bytes apart
  uint64_t gate_stride = 0, up_stride = 0, down_stride = 0;
  bool local = false;
  std::unique_ptr<gpu::Buffer> k, v;
  int64_t cells = 0;  // rows k and v hold
};

// One adapter's matrices on the device, by the address of its A values.
struct GpuLora {
  std::shared_ptr<const LoraAdapter> adapter;  // kept alive while it is on the device
  std::unique_ptr<gpu::Buffer> buffer;
  gpu::Matrix a, b;
};

// A set of sequence adapters in a pass, and its rows: 1 in the mask for each.
struct GpuRowSet {
  const LoraIndex* set = nullptr;
  gpu::Span mask;  // T floats (or n_out for the output rows)
};

struct GpuLayers::Impl {
  const Model& model;
  std::unique_ptr<gpu::Device> device;
  std::vector<uint8_t> on;  // per layer
  std::vector<GpuLayer> layers;
  bool output = false;
  std::unique_ptr<gpu::Buffer> output_weights;
  gpu::Matrix output_matrix;
  gpu::Span output_norm;
  gpu::KvCells kv_type = gpu::KvCells::f16;
  uint64_t kv_row = 0;  // bytes of one cell's row (n_kv_dim values)
  std::map<const float*, GpuLora> adapters;

  // Scratch: one buffer per slot, grown when a pass needs more; replaced buffers are kept until
  // the commands that may use them have run.
  std::map<std::string, std::unique_ptr<gpu::Buffer>> scratch;
  std::vector<std::unique_ptr<gpu::Buffer>> retired;
  gpu::Span need(const std::string& slot, uint64_t bytes);

  // The pass's shared data on the device (begin()).
  int64_t T = 0;
  struct Kind {
    gpu::Span cos, sin, store, cells, base, lo, hi;
  } kinds[2];
  gpu::Span ones;  // T floats of 1
  std::vector<GpuRowSet> row_sets, out_sets;
  std::vector<std::pair<int64_t, int64_t>> out_runs;  // want_logits rows: (first, count) runs
  int64_t n_out = 0;
  gpu::Span out_ones;

  explicit Impl(const Model& m) : model(m) {}
  // Frees every buffer, then hands the device back to the process's idle devices.
  ~Impl();
  void upload_layer(int il);
  void upload_output();
  void grow_local_cache(int64_t cells);
};

}  // namespace hearth::model
