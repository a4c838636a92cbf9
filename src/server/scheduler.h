// The scheduler: every inference request becomes a task here; the HTTP threads never run a
// model (DESIGN.md §2).
//
// Shape:
//   - One loop thread per loaded model. It owns the model's Context (KV cache for
//     num_parallel sequences) and its compute ThreadPool, and runs steps: admit queued requests
//     into free sequence slots, drop cancelled ones, decode one batch holding every active
//     sequence's next token plus pending prompt tokens (continuous batching: a request joins
//     between two steps), sample, stream the text out through the request's sink.
//   - A model loads on its first request (in its loop thread, never on the caller's) and stays
//     loaded for its keep_alive after the last request ends (default HEARTH_KEEP_ALIVE, 5 min;
//     0 = unload as soon as idle; negative = forever). When loading a model would exceed the
//     memory budget (weights file + F16 KV cache), the least recently used idle models are
//     unloaded first; if it still does not fit, it loads anyway and a warning is logged.
//   - Context: num_ctx per sequence (0: Options::default_num_ctx), capped at the model's
//     training context; the KV cache holds num_ctx × num_parallel cells. A request asking for
//     more than the loaded num_ctx waits (and the requests behind it, first in first out) until
//     the running sequences end; the context is then rebuilt larger (the weights stay mapped).
//     Smaller requests run in a larger context with their own limit.
//   - Queue: at most Options::max_queue requests wait (all models together) beyond the active
//     slots; submit() then throws Error(unavailable) (the server answers 503 with Retry-After).
//   - Prompt cache: a finished request's cells stay in its slot. A new request takes the free
//     slot whose cached tokens share the longest reusable prefix with its prompt (the next turn
//     of a chat, an agent's repeated system prompt), else the least recently used one, whose
//     cached prompt is evicted; only the request's own user (GenerationRequest::cache_owner,
//     set by the inference routes) with the same adapters reuses a slot's cells. The cache is
//     the KV cache already reserved (num_ctx × num_parallel cells): no memory beyond it.
//   - Determinism: a sequence's tokens depend only on its prompt, settings and seed: greedy
//     output is the same whether a request ran alone or batched with others.
//
// Sinks are called on the model's loop thread, in order: any number of token events, then
// exactly one done or error event (error only before the first token event, except for
// internal failures mid-stream). A sink must be quick (hand the text to a ResponseStream).
// Once `cancelled` is set, a request may get no further event at all (not even done or error):
// the loop drops it at its next step. A sink, and what it refers to, must stay valid until its
// final event or the Scheduler's destruction, whichever comes first.
//
// Determinism in practice (see ContextOptions::batch_invariant): a prompt is decoded in chunks
// of Options::max_prompt_batch tokens counted from its start, and each model runs with
// batch-invariant kernels, so a request's logits never depend on the other requests in a step.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/generate/runner.h"

namespace hearth::server {

struct Timings {
  int prompt_tokens = 0;      // tokens of the prompt (all of them, cached or not)
  int completion_tokens = 0;  // tokens generated
  std::int64_t load_ns = 0;   // loading the model, when this request had to wait for it
  std::int64_t prompt_ns = 0; // from admission until the prompt was decoded
  std::int64_t eval_ns = 0;   // from the first generated token until the last
  std::int64_t total_ns = 0;  // from submit() until done
};

struct GenerationEvent {
  enum class Kind { token, done, error };
  Kind kind = Kind::token;
  std::string text;            // token: the new text (may be empty while UTF-8 or a possible
                               // stop string is held back); chat: the answer's text only
  std::string reasoning;       // token, chat: new reasoning text (generate::Output)
  std::vector<chat::ToolCall> tool_calls;  // token, chat: calls completed now
  // token: with Request::logprobs, the log-probabilities of the tokens this event stands for
  // (one per generated token; its text may come in a later event while held back). An event
  // with neither text nor logprobs is not sent.
  std::vector<generate::TokenLogprobs> logprobs;
  std::string finish_reason;   // done: "stop" (EOS, a stop string, JSON complete) or "length"
                               // (max_tokens or the context filled up)
  Timings timings;             // done
  ErrorKind error_kind = ErrorKind::internal;  // error
  std::string error;                           // error: what went wrong, for the client
};
using GenerationSink = std::function<void(GenerationEvent&&)>;

// What to generate (generate::Request: messages or prompt, sampling, limits, stop strings, JSON
// mode) and with which model.
struct GenerationRequest : generate::Request {
  std::string model;      // installed name:tag, as resolved by the caller
  std::string model_path; // the GGUF file of that model
  int num_ctx = 0;        // per-sequence context; 0: the scheduler's default
  // Ollama's num_gpu: layers on the GPU when the model loads (a model loaded with another
  // count reloads once its running sequences end); -1: Options::gpu_layers.
  int num_gpu = -1;
  // The model's default system prompt (use_model), applied by run_generation when the request
  // brings no system prompt of its own.
  std::string default_system;
  std::optional<std::chrono::milliseconds> keep_alive;  // nullopt: the default
  std::shared_ptr<std::atomic<bool>> cancelled;         // set by the connection; may be null
};

struct EmbeddingRequest {
  std::string model;
  std::string model_path;
  std::vector<std::string> inputs;  // each embedded on its own (no template, BOS rule applies)
  bool truncate = true;             // cut an input longer than the context instead of failing
  int num_ctx = 0;
  std::optional<std::chrono::milliseconds> keep_alive;
  std::shared_ptr<std::atomic<bool>> cancelled;
};

struct EmbeddingResult {
  std::vector<std::vector<float>> embeddings;  // one per input: mean-pooled final hidden
                                               // state (after the output norm), L2-normalised
  int prompt_tokens = 0;                       // all inputs together
  Timings timings;
  bool ok = true;
  ErrorKind error_kind = ErrorKind::internal;
  std::string error;
};
using EmbeddingSink = std::function<void(EmbeddingResult&&)>;

struct LoadedModel {  // for /api/ps and /metrics
  std::string model;
  std::string model_path;
  std::uint64_t size_bytes = 0;  // weights file + KV cache
  int num_ctx = 0;               // per sequence
  int num_parallel = 0;
  int active = 0;                // sequences running now
  int queued = 0;
  // When it will be unloaded if nothing else arrives; nullopt while busy or kept forever.
  std::optional<std::chrono::system_clock::time_point> expires_at;
};

struct SchedulerStats {  // for /metrics (counters since start)
  std::uint64_t requests_total = 0;
  std::uint64_t requests_rejected = 0;  // queue full
  std::uint64_t prompt_tokens_total = 0;
  std::uint64_t completion_tokens_total = 0;
  int queue_depth = 0;                  // waiting for a slot, all models
  int active_sequences = 0;
  int loaded_models = 0;
  double tokens_per_second = 0;         // generation, over the last few seconds, all models
};

// Makes the Runner for a weights file, without its KV cache (the loop reserves it after checking
// the memory budget). `name` is the caller's name for it, for error messages. Errors as
// model::Model::load. The default loads the GGUF file with generate::ModelRunner; tests pass a
// fake so queueing, keep-alive and eviction are tested without a model.
using RunnerLoader = std::function<std::unique_ptr<generate::Runner>(
    const std::string& path, const std::string& name, int threads, int max_prompt_batch)>;

class Scheduler {
 public:
  struct Options {
    int num_parallel = 4;          // HEARTH_NUM_PARALLEL
    int max_queue = 512;           // HEARTH_MAX_QUEUE
    std::chrono::milliseconds keep_alive{5 * 60 * 1000};  // HEARTH_KEEP_ALIVE
    int default_num_ctx = 4096;    // per sequence, capped at the model's training context
    int threads = 0;               // compute threads per model; 0: HEARTH_THREADS / cores
    std::uint64_t memory_budget = 0;  // bytes for loaded models; 0: available RAM at start
    int max_prompt_batch = 512;    // prompt tokens decoded per step (all sequences together)
    model::KvType kv_type = model::KvType::f16;  // HEARTH_KV_CACHE; the default loader's
    // HEARTH_GPU_LAYERS: layers on the GPU for a request without num_gpu (generate::RunnerOptions)
    int gpu_layers = generate::RunnerOptions::kGpuLayersAuto;
  };

  explicit Scheduler(Options options, RunnerLoader loader = {});
  // Options from the settings table (HEARTH_NUM_PARALLEL, HEARTH_MAX_QUEUE, HEARTH_KEEP_ALIVE,
  // HEARTH_THREADS, HEARTH_KV_CACHE: Error(invalid_input) for a type other than f16, q8_0 or f32;
  // HEARTH_GPU_LAYERS: auto, all or a number).
  static Options options_from_config();
  // Cancels everything queued or running (their sinks get an error event "the server is
  // shutting down" unless already done), joins the loops, unloads every model.
  ~Scheduler();

  // Queues the request and returns at once. Error(unavailable) when the queue is full;
  // Error(invalid_input) for settings that cannot work (sampler settings, num_ctx < 0).
  // Everything found later (the model cannot load, the prompt is longer than the context:
  // "the prompt is N tokens but the model's context is M") arrives as an error event.
  void submit(GenerationRequest request, GenerationSink sink);
  // Several generations of one model (OpenAI's n choices; sinks[i] for requests[i]), queued at
  // once with nothing between them, so that they are admitted in the same step when enough
  // slots are free and then decode in the same batches. All or none: Error(unavailable) when the
  // queue cannot take them all; otherwise as above.
  void submit(std::vector<GenerationRequest> requests, std::vector<GenerationSink> sinks);
  void submit(EmbeddingRequest request, EmbeddingSink sink);

  // Loads the model now (keep_alive as given) without generating; the sink gets done or error.
  void preload(const std::string& model, const std::string& model_path,
               std::optional<std::chrono::milliseconds> keep_alive, GenerationSink sink);
  // Unloads the weights file once its running sequences end (keep_alive 0). False when not
  // loaded.
  bool unload(const std::string& model_path);

  std::vector<LoadedModel> loaded() const;
  // Sequences a model runs at once (Options::num_parallel): the most choices one request may ask.
  int num_parallel() const;
  SchedulerStats stats() const;

  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::server
