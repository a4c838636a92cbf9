// The generation layer: everything between "a model file and a request" and "text out". Nothing
// outside engine/generate/ calls the sampler or the decode step.
//
// Shape:
//   - Runner: what a server's model loop drives, with no idea of tensors. A loaded model with a
//     KV cache for n_seq sequences (slots 0..n_seq-1) of n_ctx tokens each; start() puts a
//     request in a free slot, step() decodes one batch for every running slot and returns what
//     each produced, stop() ends one early. Abstract so the scheduler can be tested with a fake
//     (tests/server/fake_runner.h) on any machine.
//   - ModelRunner: the real one. It owns the weights, the compute threads, the Context (KV
//     cache), the chat format, the template's built-in system prompt and the BOS rule. Per
//     sequence it renders the chat, encodes, decodes the prompt in chunks, samples (with the
//     JSON constraint), detokenizes as a stream, cuts at stop strings and enforces the limits.
//     `hearth run`, `hearth generate`/`logits`, `hearth bench`, the post-pull check and the
//     server's model loops all use it.
//
// Determinism: with batch_invariant, a prompt is decoded in chunks of max_batch tokens counted
// from its start, and each sequence's logits depend only on its own tokens (context.h), so greedy
// output is the same whether a request ran alone or batched with others, and whether it reused
// a cached prefix (RunnerOptions::prompt_cache) or not.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/thread_pool.h"
#include "engine/chat/model_chat.h"
#include "engine/generate/request.h"
#include "engine/model/context.h"

namespace hearth::generate {

struct JsonVocab;  // json_constraint.h

class Runner {
 public:
  virtual ~Runner() = default;

  // The model's training context (0: unknown); contexts are capped there.
  virtual int n_ctx_train() const = 0;
  // Bytes in memory with a KV cache of n_ctx tokens for each of n_seq sequences (weights + cache),
  // for a memory budget; callable before reserve().
  virtual std::uint64_t memory_bytes(int n_ctx, int n_seq) const = 0;
  // (Re)builds the KV cache for n_seq sequences of n_ctx tokens. Running sequences end silently.
  virtual void reserve(int n_ctx, int n_seq) = 0;
  // GPU layers for the next reserve() (RunnerOptions::gpu_layers: a count, -1 all,
  // kGpuLayersAuto). A runner without a GPU path ignores it.
  virtual void set_gpu_layers(int gpu_layers) { (void)gpu_layers; }

  // Starts a generation in a free slot, its context limited to `limit` tokens (at most n_ctx),
  // with the request's own adapters. Error(invalid_input) when the prompt is empty or longer
  // than the limit, or an adapter does not fit the model (the slot stays free); an adapter file
  // that cannot be read gives the GGUF reader's error. Returns the prompt's length in tokens.
  virtual int start(int slot, const Request& request, int limit) = 0;
  // Which of the free slots (`free`: not empty) a request should start in. The first, unless
  // the runner keeps a prompt cache (ModelRunner with RunnerOptions::prompt_cache).
  virtual int choose_slot(const Request& request, std::span<const int> free);
  // One decode step over every running sequence: each generating one's next token plus prompt
  // chunks up to the batch budget. Appends an Output for each sequence that produced something.
  virtual void step(std::vector<Output>& out) = 0;
  // Ends a running sequence now: its cells go and it gives no more output.
  virtual void stop(int slot) = 0;

  // Embeds each input on its own in the slot (no template; the BOS rule applies; the input is
  // plain text, so special-token text in it stays text). An input longer
  // than `limit` is cut when `truncate`, else Error(invalid_input). nullopt when `cancelled`
  // turned true between two inputs.
  virtual std::optional<Embedding> embed(int slot, const std::vector<std::string>& inputs,
                                         int limit, bool truncate,
                                         const std::function<bool()>& cancelled) = 0;
};

struct RunnerOptions {
  int n_ctx = 0;        // tokens per sequence; 0: the model's training context, at most 4096
  int n_seq = 1;        // sequences that run at once
  int threads = 0;      // compute threads; 0: HEARTH_THREADS, else one per core
  model::KvType kv_type = model::KvType::f32;
  bool batch_invariant = false;  // see above; for servers batching several requests
  int max_batch = 512;           // prompt tokens decoded per step (all sequences together)
  // A slot is one conversation (`hearth run`): a finished sequence keeps its cells and sampler,
  // and the next start() in that slot reuses the cached tokens its prompt begins with.
  bool keep_conversation = false;
  // The prompt cache of a server: a finished sequence keeps its cells (not its sampler), and a
  // later start() in that slot by the same Request::cache_owner with the same adapters reuses
  // the cached tokens its prompt begins with. choose_slot() then picks the free slot with the
  // longest reusable prefix (counted only where it is longer than what reusing the slot would
  // evict), then an empty one, then the least recently used one (whose cached prompt is the one
  // evicted). The cache lives in the KV cells reserve() made, one slot's context each: it costs
  // no memory beyond the KV cache counted in memory_bytes(). With batch_invariant only cells
  // that a cold run would compute with the same kernels are reused (runner_step.cpp), so the
  // output is the same as a cold run's.
  bool prompt_cache = false;
  // LoRA adapters added to the model's weights, in this order; loaded and checked against the
  // model when it loads (model::LoraAdapter::load's errors).
  std::vector<LoraFile> adapters;
  // Request::adapters loaded for earlier requests and kept (by path, re-read when the file's
  // size or modification time changed) beyond those running now, at most this many.
  int adapter_cache = 16;
  // GPU offload (model::ContextOptions::gpu_layers, `--gpu-layers`): the last gpu_layers layers
  // run on a Vulkan device; -1 every layer, 0 none (the CPU), kGpuLayersAuto as many as fit in
  // the device's memory with their KV cache (hardware::plan_gpu_layers), decided at reserve():
  // only on a real GPU (a CPU-type Vulkan device such as lavapipe when HEARTH_VULKAN_CPU=1), and
  // on the CPU with one log line when there is none. gpu_device: a Vulkan device index, -1 the
  // first GPU.
  static constexpr int kGpuLayersAuto = -2;
  int gpu_layers = 0;
  int gpu_device = -1;
};

// `--gpu-layers` and the gpu_layers setting: "auto" (RunnerOptions::kGpuLayersAuto), "all" (-1)
// or a count of layers (0: the CPU). Error(invalid_input) naming `what` otherwise.
int parse_gpu_layers(std::string_view text, std::string_view what);

class AdapterCache;  // adapter_cache.h

class ModelRunner final : public Runner {
 public:
  // Loads a GGUF file (model::Model::load's errors) and options.adapters, and makes its KV cache
  // (options.n_ctx).
  static std::unique_ptr<ModelRunner> load(const std::string& path, RunnerOptions options);
  // Loads the weights only; reserve() makes the KV cache (a server sizes it after checking its
  // memory budget).
  static std::unique_ptr<ModelRunner> load_weights(const std::string& path, RunnerOptions options);
  ~ModelRunner() override;

  int n_ctx_train() const override;
  std::uint64_t memory_bytes(int n_ctx, int n_seq) const override;
  void reserve(int n_ctx, int n_seq) override;
  void set_gpu_layers(int gpu_layers) override { options_.gpu_layers = gpu_layers; }
  int start(int slot, const Request& request, int limit) override;
  int choose_slot(const Request& request, std::span<const int> free) override;
  void step(std::vector<Output>& out) override;
  void stop(int slot) override;
  std::optional<Embedding> embed(int slot, const std::vector<std::string>& inputs, int limit,
                                 bool truncate, const std::function<bool()>& cancelled) override;

  const model::Model& model() const { return *model_; }
  const tokenizer::Tokenizer& tokenizer() const { return model_->tokenizer(); }
  const std::string& path() const { return path_; }
  int n_ctx() const;  // tokens per sequence
  ThreadPool& pool() const { return *pool_; }  // its compute threads
  kernels::KernelSet kernels() const;
  // Bytes of the KV cache as built now.
  std::uint64_t kv_cache_bytes() const;
  // Layers running on the GPU now (0: all on the CPU).
  int n_gpu_layers() const;
  // Bytes of the requests' adapters loaded now (A and B of each file once, however many
  // sequences use it); RunnerOptions::adapters are in memory_bytes().
  std::uint64_t request_adapter_bytes() const;

  // The prompt of a request: the chat template (or the raw prompt) with the BOS rule, the
  // messages' text plain so it never becomes control tokens (chat_template.h).
  tokenizer::PromptText render(const Request& request) const;

  // Raw access for checking a model against reference outputs and for benchmarks: appends
  // tokens to a slot (in batches of max_batch) and returns the logits of every appended position
  // when all_logits, else of the last one. Error(invalid_input) when the context is full.
  model::Logits feed(int slot, std::span<const int32_t> tokens, bool all_logits);
  // Forgets a slot's tokens (its conversation, with keep_conversation).
  void clear(int slot);
  // Keeps a slot's first n tokens and forgets the rest; returns how many it kept (fewer when a
  // sliding-window model no longer holds the window for them).
  int truncate(int slot, int n);

 private:
  struct Sequence;  // runner_step.cpp
  int budget(const Sequence& q) const;  // tokens a sequence may still write
  // How many of a slot's cached tokens a prompt may reuse, its owner and adapters aside.
  size_t reusable(size_t slot, std::span<const int32_t> tokens) const;
  ModelRunner(std::string path, std::shared_ptr<const model::Model> model, RunnerOptions options);

  int32_t choose(Sequence& q, std::span<const float> logits);
  void take(int slot, std::span<const float> logits, std::vector<Output>& out);
  // A step's text into the output: as it is, or through the chat reply parser.
  void emit(Sequence& q, std::string text, Output& o);
  void finish(int slot, const std::string& reason, bool flush, bool context_full,
              std::vector<Output>& out);
  void drop(int slot);  // frees a slot's cells (or keeps them, with keep_conversation)
  // A request's adapters, loaded (through the cache) and checked against the model.
  std::vector<model::AppliedLora> load_adapters(const Request& request);

  std::string path_;
  std::shared_ptr<const model::Model> model_;
  RunnerOptions options_;
  std::vector<model::AppliedLora> adapters_;  // options_.adapters, loaded
  std::unique_ptr<AdapterCache> request_adapters_;  // Request::adapters, loaded by path
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<model::Context> ctx_;
  chat::ModelChat chat_;  // the chat format, built-in system message and BOS rule
  std::shared_ptr<const JsonVocab> json_vocab_;  // built on the first JSON request
  std::vector<std::unique_ptr<Sequence>> seqs_;  // by slot
  std::vector<std::vector<int32_t>> cached_;     // by slot: the tokens its cells hold
  // By slot, for reuse: how many leading cached tokens were computed as prompt chunks of two or
  // more tokens (the many-token kernels; see reusable()); whose they are, with which adapters;
  // when the slot was last started or finished (0: never), for the least recently used.
  std::vector<size_t> exact_;
  std::vector<std::string> owner_;
  std::vector<std::vector<LoraFile>> slot_adapters_;
  std::vector<std::uint64_t> used_;
  std::uint64_t clock_ = 0;
};

// Error(invalid_input) naming the first setting of a request that cannot work (sampler settings).
void validate(const Request& request);
// A seed from std::random_device, for requests that need not be repeatable.
std::uint64_t random_seed();

// The index of the largest value (the first of equals): greedy decoding for reference checks.
int32_t greedy_token(std::span<const float> logits);

}  // namespace hearth::generate
