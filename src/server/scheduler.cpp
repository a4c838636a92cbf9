// The Scheduler's public side: validation, queueing, the shared counters and settings. The
// per-model loop is in model_loop.cpp (and generation.cpp for one sequence's steps).
#include "server/scheduler.h"

#include <spdlog/spdlog.h>


#include "core/config.h"
#include "core/duration.h"
#include "hardware/hardware.h"
#include "server/scheduler_impl.h"
#include "store/blob_stamp.h"

namespace hearth::server {

using detail::Clock;
using detail::ModelLoop;
using detail::Shared;
using detail::Task;

namespace {

// HEARTH_KEEP_ALIVE (core/duration.h); negative keeps models loaded forever.
std::chrono::milliseconds parse_keep_alive(const std::string& text) {
  const auto d = parse_duration(text);
  if (!d)
    throw Error(ErrorKind::invalid_input,
                "HEARTH_KEEP_ALIVE: '" + text + "' is not a duration (examples: 5m, 30s, 0, -1)");
  return *d;
}

}  // namespace

struct Scheduler::Impl {
  Shared shared;

  // The loop for a model, created (and its thread started) on first use. Called with mu held.
  // Loops are keyed by the weights file: names belong to users (two users may give one name to
  // different weights, or two names to the same weights), the file is what gets loaded.
  ModelLoop& loop_for(const std::string& model, const std::string& path) {
    const std::string& key = path.empty() ? model : path;
    auto it = shared.loops.find(key);
    if (it == shared.loops.end())
      it = shared.loops.emplace(key, std::make_unique<ModelLoop>(shared, model, path)).first;
    return *it->second;
  }

  void enqueue(Task task, const std::string& model, const std::string& path) {
    std::vector<Task> one;
    one.push_back(std::move(task));
    enqueue(std::move(one), model, path);
  }

  // Tasks for one model, queued together (all or none) with nothing between them.
  void enqueue(std::vector<Task> tasks, const std::string& model, const std::string& path) {
    if (model.empty()) throw Error(ErrorKind::invalid_input, "no model given");
    const auto now = Clock::now();
    for (Task& task : tasks) task.submitted = now;
    const int n = static_cast<int>(tasks.size());
    std::lock_guard lock(shared.mu);
    if (shared.stopping) throw Error(ErrorKind::unavailable, "the server is shutting down");
    if (shared.queued + n > shared.options.max_queue) {
      ++shared.requests_rejected;
      throw Error(ErrorKind::unavailable, "the server is busy: " + std::to_string(shared.queued) +
                                              " requests are waiting; try again shortly");
    }
    shared.requests_total += static_cast<std::uint64_t>(n);
    ModelLoop& loop = loop_for(model, path);
    for (Task& task : tasks) loop.queue.push_back(std::move(task));
    shared.queued += n;
    loop.cv.notify_all();
  }
};

Scheduler::Scheduler(Options options, RunnerLoader loader) : impl_(std::make_unique<Impl>()) {
  if (options.num_parallel < 1) options.num_parallel = 1;
  if (options.max_prompt_batch < 1) options.max_prompt_batch = 1;
  if (options.default_num_ctx < 1) options.default_num_ctx = 4096;
  if (options.threads == 0)
    options.threads = static_cast<int>(config::get_int("HEARTH_THREADS", 0, 1024));
  if (options.memory_budget == 0) options.memory_budget = hardware::probe().ram_available;
  impl_->shared.options = options;
  if (!loader)
    loader = [kv_type = options.kv_type](const std::string& path, const std::string& name,
                                         int threads, int max_batch) {
      // A blob changed since its install (size or mtime) is refused before anything is read.
      store::check_blob_unchanged(path, name);
      generate::RunnerOptions o;
      o.threads = threads;
      o.kv_type = kv_type;
      o.batch_invariant = true;  // greedy output alone == batched (runner.h)
      o.prompt_cache = true;     // a user's next turn reuses its cached prefix (runner.h)
      o.max_batch = max_batch;  // GPU layers: set by the loop before each reserve()
      return std::unique_ptr<generate::Runner>(generate::ModelRunner::load_weights(path, o));
    };
  impl_->shared.loader = std::move(loader);
}

int Scheduler::num_parallel() const { return impl_->shared.options.num_parallel; }

Scheduler::Options Scheduler::options_from_config() {
  Options o;
  o.num_parallel = static_cast<int>(config::get_int("HEARTH_NUM_PARALLEL", 1, 1024));
  o.max_queue = static_cast<int>(config::get_int("HEARTH_MAX_QUEUE", 0, 1 << 24));
  o.keep_alive = parse_keep_alive(config::get("HEARTH_KEEP_ALIVE"));
  o.threads = static_cast<int>(config::get_int("HEARTH_THREADS", 0, 1024));
  // Prompt chunks of 64 tokens: a long prompt shares each step with the running streams in
  // pieces of ~0.3 s on 2 cores instead of ~2 s (512), and the many-token kernels spend no more
  // per token at 64 than at 128 or 512 (bench/RESULTS.md, "Prompt cache and prefill").
  o.max_prompt_batch = 64;
  const std::string kv = config::get("HEARTH_KV_CACHE");
  if (!kv.empty()) o.kv_type = model::kv_type_from_name(kv, "HEARTH_KV_CACHE");
  o.gpu_layers = generate::parse_gpu_layers(config::get("HEARTH_GPU_LAYERS"), "HEARTH_GPU_LAYERS");
  return o;
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(impl_->shared.mu);
    impl_->shared.stopping = true;
    for (auto& [name, loop] : impl_->shared.loops) loop->cv.notify_all();
  }
  // Each loop fails what it holds and unloads, then its thread ends. All threads end before any
  // loop object goes, since a loop may look at the others (make_room) until it sees stopping.
  for (auto& [name, loop] : impl_->shared.loops) loop->join();
  impl_->shared.loops.clear();
}

namespace {

Task generation_task(GenerationRequest request, GenerationSink sink) {
  generate::validate(request);
  if (request.num_ctx < 0)
    throw Error(ErrorKind::invalid_input, "num_ctx must be positive (or 0 for the default)");
  Task task;
  task.kind = Task::Kind::generate;
  task.keep_alive = request.keep_alive;
  task.num_ctx = request.num_ctx;
  task.num_gpu = request.num_gpu;
  task.cancelled = request.cancelled;
  task.gen = std::move(request);
  task.gen_sink = std::move(sink);
  return task;
}

}  // namespace

void Scheduler::submit(GenerationRequest request, GenerationSink sink) {
  const std::string model = request.model, path = request.model_path;
  impl_->enqueue(generation_task(std::move(request), std::move(sink)), model, path);
}

void Scheduler::submit(std::vector<GenerationRequest> requests, std::vector<GenerationSink> sinks) {
  HEARTH_ASSERT(!requests.empty() && requests.size() == sinks.size(),
                "one sink per request, at least one request");
  const std::string model = requests[0].model, path = requests[0].model_path;
  std::vector<Task> tasks;
  for (size_t i = 0; i < requests.size(); ++i) {
    HEARTH_ASSERT(requests[i].model_path == path, "the requests of one submit share their model");
    tasks.push_back(generation_task(std::move(requests[i]), std::move(sinks[i])));
  }
  impl_->enqueue(std::move(tasks), model, path);
}

void Scheduler::submit(EmbeddingRequest request, EmbeddingSink sink) {
  if (request.num_ctx < 0)
    throw Error(ErrorKind::invalid_input, "num_ctx must be positive (or 0 for the default)");
  Task task;
  task.kind = Task::Kind::embed;
  task.keep_alive = request.keep_alive;
  task.num_ctx = request.num_ctx;
  task.cancelled = request.cancelled;
  const std::string model = request.model, path = request.model_path;
  task.emb = std::move(request);
  task.emb_sink = std::move(sink);
  impl_->enqueue(std::move(task), model, path);
}

void Scheduler::preload(const std::string& model, const std::string& model_path,
                        std::optional<std::chrono::milliseconds> keep_alive, GenerationSink sink) {
  Task task;
  task.kind = Task::Kind::preload;
  task.keep_alive = keep_alive;
  task.gen.model = model;  // the caller's name for the weights, for its error messages
  task.gen_sink = std::move(sink);
  impl_->enqueue(std::move(task), model, model_path);
}

bool Scheduler::unload(const std::string& model_path) {
  std::lock_guard lock(impl_->shared.mu);
  auto it = impl_->shared.loops.find(model_path);
  if (it == impl_->shared.loops.end() || !it->second->loaded) return false;
  it->second->keep_alive = std::chrono::milliseconds(0);
  it->second->cv.notify_all();
  return true;
}

std::vector<LoadedModel> Scheduler::loaded() const {
  std::vector<LoadedModel> out;
  std::lock_guard lock(impl_->shared.mu);
  const auto now = Clock::now();
  for (const auto& [name, loop] : impl_->shared.loops) {
    if (!loop->loaded) continue;
    LoadedModel m;
    m.model = loop->name;
    m.model_path = loop->path;
    m.size_bytes = loop->size_bytes;
    m.num_ctx = loop->num_ctx;
    m.num_parallel = impl_->shared.options.num_parallel;
    m.active = loop->active;
    m.queued = static_cast<int>(loop->queue.size());
    if (loop->idle() && loop->keep_alive.count() >= 0) {
      const auto left = loop->idle_since + loop->keep_alive - now;
      m.expires_at = std::chrono::system_clock::now() +
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
    }
    out.push_back(std::move(m));
  }
  return out;
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats s;
  Shared& sh = impl_->shared;
  std::lock_guard lock(sh.mu);
  s.requests_total = sh.requests_total;
  s.requests_rejected = sh.requests_rejected;
  s.prompt_tokens_total = sh.prompt_tokens_total;
  s.completion_tokens_total = sh.completion_tokens_total;
  s.queue_depth = sh.queued;
  for (const auto& [name, loop] : sh.loops) {
    s.active_sequences += loop->active;
    s.loaded_models += loop->loaded ? 1 : 0;
  }
  const auto now = Clock::now();
  sh.note_tokens(now, 0);  // drops what is too old
  if (!sh.recent_tokens.empty()) {
    int n = 0;
    for (const auto& [t, k] : sh.recent_tokens) n += k;
    const double span =
        std::max(1.0, std::chrono::duration<double>(now - sh.recent_tokens.front().first).count());
    s.tokens_per_second = n / span;
  }
  return s;
}

namespace detail {

void Task::fail(ErrorKind kind, const std::string& message) {
  if (kind == ErrorKind::internal) spdlog::error("scheduler: {}", message);
  if (this->kind == Kind::embed) {
    EmbeddingResult r;
    r.ok = false;
    r.error_kind = kind;
    r.error = message;
    deliver(emb_sink, std::move(r));
    return;
  }
  GenerationEvent e;
  e.kind = GenerationEvent::Kind::error;
  e.error_kind = kind;
  e.error = message;
  deliver(gen_sink, std::move(e));
}

bool Shared::make_room(const ModelLoop* self, std::uint64_t bytes) {
  std::uint64_t used = 0;
  for (const auto& [name, loop] : loops)
    if (loop.get() != self && loop->loaded && !loop->evict) used += loop->size_bytes;
  while (used + bytes > options.memory_budget) {
    ModelLoop* victim = nullptr;
    for (const auto& [name, loop] : loops) {
      if (loop.get() == self || !loop->loaded || loop->evict || !loop->idle()) continue;
      if (!victim || loop->last_used < victim->last_used) victim = loop.get();
    }
    if (!victim) return false;
    spdlog::info("scheduler: unloading {} to make room", victim->name);
    victim->evict = true;
    victim->cv.notify_all();
    used -= victim->size_bytes;
  }
  return true;
}

void Shared::note_tokens(Clock::time_point now, int n) {
  if (n > 0) recent_tokens.emplace_back(now, n);
  while (!recent_tokens.empty() && now - recent_tokens.front().first > std::chrono::seconds(10))
    recent_tokens.pop_front();
}

}  // namespace detail

}  // namespace hearth::server
