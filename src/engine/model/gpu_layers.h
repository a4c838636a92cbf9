// Layer offload: the last layers of a model (all of them, with the output norm and the output
// matrix, when every layer goes) run on a GPU through hearth_gpu (gpu/ops.h). Internal to the
// model folder; a Context makes one when ContextOptions::gpu_layers asks for it.
//
// Shape of the work:
//   - once, when the Context is made: the device opens, and the weights of those layers go to it
//     as the file stores them (raw GGUF blocks, one buffer per layer holding its matrices, norms
//     and biases), with the output norm and matrix when every layer is offloaded; each of those
//     layers gets its K and V cache on the device (F32 or F16 cells: a Q8_0 cache type becomes
//     F16 there), and the Context's KvCache keeps no rows for them (KvCache's `elsewhere`).
//     A layer with a weight type the shaders do not read (gpu::supports) stays on the CPU, which
//     is logged; the GPU layers then form ranges, and activations cross once per range.
//   - per batch: begin() uploads what every range shares (RoPE angles, attention cells and runs,
//     the cells written, LoRA row masks); run() uploads x (T×E), records every operation of every
//     layer of one range into one command buffer, runs it and downloads x, or the logits and
//     hidden rows when the range ends with the output.
//   - LoRA: the Context's adapters and each sequence's adapters are added as on the CPU
//     (forward_parts.h, Projector): A x and B (A x) over all rows, scale · B (A x) added to the
//     rows that have the adapter (a 0/1 mask per row). Their matrices go to the device when
//     first seen (add_adapters()).
// Arithmetic is F32 with weights dequantized exactly: results follow the ".dequant-f32"
// references, whatever the Context's matmul arithmetic.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/model/context.h"
#include "engine/model/forward_batch.h"

namespace hearth::model {

class GpuLayers {
 public:
  // Opens device options.gpu_device (-1: the first GPU; a CPU-type Vulkan device only when there
  // is nothing else) and uploads the last options.gpu_layers layers (-1: all). Errors:
  //   unavailable   no Vulkan device (the note says why) or one that does not open;
  //   invalid_input a device index that does not exist;
  //   out_of_memory the weights or the cache do not fit in the device's memory.
  GpuLayers(const Model& model, const ContextOptions& options);
  ~GpuLayers();
  GpuLayers(const GpuLayers&) = delete;
  GpuLayers& operator=(const GpuLayers&) = delete;

  // Per layer, 1 for a layer that runs on the GPU (KvCache's `elsewhere`).
  const std::vector<uint8_t>& layers() const;
  bool on_gpu(int layer) const { return layers()[static_cast<size_t>(layer)] != 0; }
  int n_gpu_layers() const;
  // Whether the output norm and matrix run on the GPU (every layer does).
  bool output_on_gpu() const;
  // The end of the range of GPU layers that starts at `first`: the next CPU layer, or n_layer.
  int range_end(int first) const;
  // Device memory held now (weights, caches, scratch).
  uint64_t device_bytes() const;

  // Adapters in use from now on (the Context's, and each sequence's when it gets them): their
  // matrices that adapt a GPU layer (or the output on the GPU) go to the device, once per
  // adapter; adapters nobody else holds any more are dropped from the device.
  void add_adapters(std::span<const AppliedLora> adapters);

  // One forward pass's shared data. `lora` is the Context's bound adapters, `row_lora` each
  // row's sequence adapters (null when none). logits: the want_logits rows × n_vocab; hidden
  // (may be null): T × n_embd after the output norm; both written by the range that ends with
  // the output, when output_on_gpu().
  struct Pass {
    std::span<const BatchEntry> batch;
    const std::vector<KvCache::Cell>& cells;
    const BatchPlan& plan;
    const LoraIndex& lora;
    const LoraIndex* const* row_lora = nullptr;
    float* logits = nullptr;
    float* hidden = nullptr;
  };
  // Uploads the pass's shared data; called once per forward pass, before run().
  void begin(const Pass& pass, int n_cells_local);
  // Runs layers [first, end) (all on the GPU) over x (T×E, in and out).
  void run(int first, int end, const Pass& pass, float* x);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::model
