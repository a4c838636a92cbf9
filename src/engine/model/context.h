// Running a Model: a Context holds the per-request state (the KV cache of its sequences and
// scratch memory) and decodes batches of tokens into logits. The model folder's public header.
//
//   auto model = model::Model::load("model.gguf");
//   model::Context ctx(model, options);          // ContextOptions: n_ctx, kernels, ...
//   std::vector<model::BatchEntry> batch;
//   for (int i = 0; i < n; ++i) batch.push_back({tokens[i], i, 0, i == n - 1});
//   model::Logits logits = ctx.decode(batch);   // one row: the logits after the last token
//
// A batch may mix tokens of several sequences (ids in [0, n_seq_max)); each token attends to
// the cached tokens of its own sequence at positions ≤ its own, including tokens of the same
// batch. Decoding a position a sequence already holds replaces that token. All sequences share
// n_ctx cells; positions must be below n_ctx.
//
// Numerics: activations are F32; every product with a weight matrix (and with the A and B of
// each LoRA adapter in options.adapters) goes through kernels::matmul with options.matmul
// (exact_f32 reproduces the conformance ".dequant-f32" references, quantized_activations the
// ".ref.json" ones); a sequence's own adapters (set_sequence_adapters) go through it the same
// way, over that sequence's rows only. Not thread-safe: one thread decodes at a time
// (options.matmul.pool spreads each step's work over threads).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/model/kv_cache.h"
#include "engine/model/lora.h"
#include "engine/model/model.h"

namespace hearth::model {

class GpuLayers;  // gpu_layers.h

struct ContextOptions {
  int n_ctx = 4096;   // KV cells, shared by all sequences; also the bound on positions
  int n_seq_max = 1;  // sequence ids are 0 .. n_seq_max-1
  KvType kv_type = KvType::f32;
  kernels::MatmulOptions matmul;
  // Batch-invariant decoding (a server batching several sequences): a token that is the only
  // one of its sequence in the batch (a generation step) is computed with the one-token
  // kernels, the tokens of a sequence with several in the batch (a prompt chunk) with the
  // many-token ones (matmul.h, MatmulOptions::Path), each row on its own. A sequence's logits
  // then depend only on its own tokens and on how its prompt was cut into batches, never on
  // the other sequences in the batch. Overrides matmul.path.
  bool batch_invariant = false;
  // LoRA adapters added to the model's weights in every product (lora.h), in this order. The
  // Context keeps them alive; the constructor checks them against the model (check_adapter()).
  std::vector<AppliedLora> adapters;
  // GPU offload (gpu_layers.h): the last gpu_layers layers run on a Vulkan device (-1: every
  // layer, and the output; 0: none), their weights and KV cache on the device. gpu_device is
  // an index of gpu::list_devices() (`hearth hw`); -1: the first GPU, a CPU-type Vulkan device
  // only when there is no other. The GPU layers compute in F32 (".dequant-f32" results).
  int gpu_layers = 0;
  int gpu_device = -1;
};

struct BatchEntry {
  int32_t token = 0;
  int32_t pos = 0;  // position in its sequence, from 0
  int32_t seq_id = 0;
  bool want_logits = false;
};

// The logits rows a decode() asked for, in batch order; each row has n_vocab values.
class Logits {
 public:
  Logits() = default;
  Logits(int n_vocab, std::vector<float> values) : n_vocab_(n_vocab), values_(std::move(values)) {}

  size_t size() const { return n_vocab_ == 0 ? 0 : values_.size() / static_cast<size_t>(n_vocab_); }
  int n_vocab() const { return n_vocab_; }
  std::span<const float> row(size_t i) const {
    return std::span<const float>(values_).subspan(i * static_cast<size_t>(n_vocab_),
                                                   static_cast<size_t>(n_vocab_));
  }
  std::span<const float> operator[](size_t i) const { return row(i); }

 private:
  int n_vocab_ = 0;
  std::vector<float> values_;  // size() × n_vocab
};

class Context {
 public:
  // Error(invalid_input) when n_ctx or n_seq_max is not positive.
  // With gpu_layers: GpuLayers' errors (no device, not enough device memory).
  Context(std::shared_ptr<const Model> model, ContextOptions options = {});
  Context(Context&&) noexcept;
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  // Runs the batch through the model, adding every token to its sequence's cache, and returns
  // the logits of the entries with want_logits. Errors (nothing is changed then):
  //   invalid_input  a token outside the vocabulary, a sequence id outside [0, n_seq_max), a
  //                  negative position, the same (sequence, position) twice in the batch, a
  //                  position ≥ n_ctx ("the prompt is longer than the context"), or more new
  //                  tokens than free cells.
  Logits decode(std::span<const BatchEntry> batch);

  // The embedding of a text: the tokens run through the model as sequence `seq_id` (in batches
  // of at most 512), and the final hidden states (after the output norm, before the output
  // projection) of every token are averaged and scaled to length 1 (a zero vector stays zero).
  // Returns n_embd values. The sequence is used as scratch: it must be empty before and is
  // removed afterwards (also on errors). Errors as decode(), plus invalid_input for no tokens or
  // a sequence that holds tokens.
  std::vector<float> embed(std::span<const int32_t> tokens, int seq_id);

  // LoRA adapters for the tokens of one sequence only, added after options().adapters, in this
  // order (several fine-tunes of one base served in one batch: each sequence gets its own). An
  // empty vector clears them; remove_sequence() does too. Sequences given the same adapters at
  // the same scales share one bound set, and the forward pass runs each set once over its rows.
  // Errors (nothing changes then): invalid_input for a sequence id outside [0, n_seq_max), and
  // check_adapter()'s for an adapter that does not fit the model.
  void set_sequence_adapters(int seq_id, std::vector<AppliedLora> adapters);
  // The adapters set_sequence_adapters() gave the sequence (empty when none).
  const std::vector<AppliedLora>& sequence_adapters(int seq_id) const;

  // Forgets a sequence, its cells and its adapters; an unknown or empty sequence is a no-op.
  void remove_sequence(int seq_id);
  // Forgets the sequence's tokens after its first n_tokens (a conversation whose later part
  // changed) and returns how many it keeps: n_tokens (or fewer, when it held fewer), or 0 when a
  // model with sliding-window layers has already dropped keys the next token would need (its
  // local layers keep only the window; see kv_cache.h): the sequence is then forgotten whole.
  int keep_prefix(int seq_id, int n_tokens);
  // The highest cached position of the sequence plus one (0 when empty).
  int n_past(int seq_id) const;

  int n_ctx() const { return options_.n_ctx; }
  int n_cells_used() const { return kv_.n_used(); }
  const KvCache& kv_cache() const { return kv_; }
  const Model& model() const { return *model_; }
  const ContextOptions& options() const { return options_; }
  // Layers running on the GPU (0 without offload), and the device memory they hold.
  int n_gpu_layers() const;
  uint64_t gpu_bytes() const;

 private:
  void check_batch(std::span<const BatchEntry> batch) const;
  void claim_cells(std::span<const BatchEntry> batch, std::vector<KvCache::Cell>& cells,
                   std::vector<const BatchEntry*>& added);
  // After a forward pass: the local layers' cells that left every touched sequence's window are
  // handed back (KvCache::prune).
  void prune_windows(std::span<const BatchEntry> batch);
  // hidden (may be null): T × n_embd, every token's final hidden state after the output norm.
  void forward(std::span<const BatchEntry> batch, const std::vector<KvCache::Cell>& cells,
               float* logits, float* hidden = nullptr);

  // One sequence's own adapters, bound to the model (the index views the adapters it keeps).
  struct SequenceAdapters {
    std::vector<AppliedLora> adapters;
    LoraIndex index;
  };

  std::shared_ptr<const Model> model_;
  ContextOptions options_;
  LoraIndex lora_;  // options_.adapters bound to the model's weights
  // By sequence id, only sequences that have adapters; shared between sequences with equal ones.
  std::map<int, std::shared_ptr<const SequenceAdapters>> seq_adapters_;
  std::unique_ptr<GpuLayers> gpu_;  // the offloaded layers, or null
  KvCache kv_;
};

}  // namespace hearth::model
