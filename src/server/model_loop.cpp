// One model's loop thread (scheduler_impl.h): waits for work, loads and unloads the model,
// admits queued requests into free sequence slots, and runs decode steps (generation.cpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "server/scheduler_impl.h"

namespace hearth::server::detail {

ModelLoop::ModelLoop(Shared& shared, std::string name_, std::string path_)
    : name(std::move(name_)), path(std::move(path_)), shared_(shared) {
  seqs_.resize(static_cast<size_t>(shared.options.num_parallel));
  thread_ = std::thread([this] { run(); });
}

ModelLoop::~ModelLoop() {
  join();
}

void ModelLoop::join() {
  if (thread_.joinable()) thread_.join();
}

void ModelLoop::run() {
  std::unique_lock lock(shared_.mu);
  serve(lock);
  // Shutting down: everything queued or running gets the error, then the model goes.
  fail_queue(lock, ErrorKind::unavailable, "the server is shutting down");
  lock.unlock();
  for (auto& seq : seqs_)
    if (seq) {
      if (!seq->task.is_cancelled())
        seq->task.fail(ErrorKind::unavailable, "the server is shutting down");
      seq.reset();
    }
  runner_.reset();
  lock.lock();
  loaded = false;
  active = 0;
  size_bytes = 0;
}

int ModelLoop::effective_ctx(const Task& task) const {
  int n = task.num_ctx > 0 ? task.num_ctx : shared_.options.default_num_ctx;
  // Beyond its training context a model's positions stop meaning anything: cap there.
  if (runner_ && runner_->n_ctx_train() > 0) n = std::min(n, runner_->n_ctx_train());
  return n;
}

int ModelLoop::effective_gpu_layers(const Task& task) const {
  return task.num_gpu >= 0 ? task.num_gpu : shared_.options.gpu_layers;
}

void ModelLoop::serve(std::unique_lock<std::mutex>& lock) {
  for (;;) {
    if (shared_.stopping) return;
    // Cancelled requests that never started leave the queue quietly.
    for (auto it = queue.begin(); it != queue.end();) {
      if (it->is_cancelled()) {
        it = queue.erase(it);
        --shared_.queued;
      } else {
        ++it;
      }
    }
    if (idle()) {
      if (loaded && (evict || keep_alive.count() == 0)) {
        unload(lock);
        continue;
      }
      if (loaded && keep_alive.count() > 0) {
        const auto deadline = idle_since + keep_alive;
        if (Clock::now() >= deadline) {
          unload(lock);
          continue;
        }
        cv.wait_until(lock, deadline);
      } else if (!loaded && runner_) {
        unload(lock);  // an engine left from a failed reload
      } else {
        cv.wait(lock);
      }
      continue;
    }
    evict = false;  // busy: make_room may only pick it again once idle
    if (active == 0 && !queue.empty()) {
      const int want = effective_ctx(queue.front());
      const int gpu = effective_gpu_layers(queue.front());
      if (!loaded || want > num_ctx || (runner_ && runner_path_ != path) || gpu != gpu_layers) {
        load(lock, want);
        continue;
      }
    }
    admit(lock);
    if (active == 0) {
      // Nothing runs (preloads, embeddings, refused prompts); with cancelled-but-not-woken
      // requests still queued, poll rather than spin.
      if (!queue.empty()) cv.wait_for(lock, std::chrono::milliseconds(20));
      continue;
    }
    lock.unlock();
    step();
    lock.lock();
    sync(lock);
  }
}

void ModelLoop::load(std::unique_lock<std::mutex>& lock, int wanted_ctx) {
  const auto t0 = Clock::now();
  const std::string file = path;
  const std::string model_name = name;
  const int gpu = queue.empty() ? shared_.options.gpu_layers : effective_gpu_layers(queue.front());
  const int n_par = shared_.options.num_parallel;
  lock.unlock();
  std::string error;
  ErrorKind error_kind = ErrorKind::internal;
  std::uint64_t bytes = 0;
  int ctx_len = 0;
  try {
    // A bigger context for the same file keeps the weights; a different file starts over.
    if (!runner_ || runner_path_ != file) {
      runner_.reset();
      runner_path_.clear();
      runner_ = shared_.loader(file, model_name, shared_.options.threads,
                               shared_.options.max_prompt_batch);
      runner_path_ = file;
    }
    const int train = runner_->n_ctx_train();
    ctx_len = train > 0 ? std::min(wanted_ctx, train) : wanted_ctx;
    bytes = runner_->memory_bytes(ctx_len, n_par);
    {
      lock.lock();
      const bool fits = shared_.make_room(this, bytes);
      lock.unlock();
      if (!fits)
        spdlog::warn(
            "scheduler: loading {} ({} MiB with its KV cache) exceeds the memory budget "
            "of {} MiB; loading anyway",
            name, bytes >> 20, shared_.options.memory_budget >> 20);
    }
    runner_->set_gpu_layers(gpu);  // Ollama's num_gpu applies when the model loads
    runner_->reserve(ctx_len, n_par);
  } catch (const Error& e) {
    error = e.what();
    error_kind = e.kind();
  } catch (const std::bad_alloc&) {
    error = "not enough memory to load the model";
    error_kind = ErrorKind::out_of_memory;
  } catch (const std::exception& e) {
    error = e.what();
  }
  lock.lock();
  if (!error.empty()) {
    runner_.reset();
    runner_path_.clear();
    loaded = false;
    size_bytes = 0;
    num_ctx = 0;
    fail_queue(lock, error_kind, name + ": cannot load the model: " + error);
    return;
  }
  loaded = true;
  evict = false;
  size_bytes = bytes;
  num_ctx = ctx_len;
  gpu_layers = gpu;
  last_used = Clock::now();
  const std::int64_t load_ns = ns_between(t0, last_used);
  for (Task& t : queue) t.load_ns = load_ns;
  spdlog::info("scheduler: loaded {} (context {} × {} sequences) in {} ms", name, ctx_len, n_par,
               load_ns / 1'000'000);
}

void ModelLoop::unload(std::unique_lock<std::mutex>& lock) {
  lock.unlock();
  runner_.reset();
  runner_path_.clear();
  lock.lock();
  if (loaded) spdlog::info("scheduler: unloaded {}", name);
  loaded = false;
  evict = false;
  size_bytes = 0;
  num_ctx = 0;
}

void ModelLoop::fail_queue(std::unique_lock<std::mutex>& lock, ErrorKind kind,
                           const std::string& message) {
  std::deque<Task> failed = std::move(queue);
  queue.clear();
  shared_.queued -= static_cast<int>(failed.size());
  lock.unlock();
  for (Task& t : failed) {
    if (t.is_cancelled()) continue;
    // The loop is named after whichever user's name loaded these weights first; each caller
    // hears its own name for them, never another user's.
    const std::string& own = t.kind == Task::Kind::embed ? t.emb.model : t.gen.model;
    std::string text = message;
    if (!own.empty() && own != name && !name.empty())
      for (size_t at = text.find(name); at != std::string::npos; at = text.find(name, at + own.size()))
        text.replace(at, name.size(), own);
    t.fail(kind, text);
  }
  lock.lock();
}

void ModelLoop::admit(std::unique_lock<std::mutex>& lock) {
  // Which slot each admitted request takes is chosen below, without the lock: the runner picks
  // the free slot whose cached prompt it reuses best (its prompt cache), which tokenizes.
  std::vector<std::pair<Task, int>> admitted;  // slot -1: a preload
  auto free_slots = std::count_if(seqs_.begin(), seqs_.end(),
                                  [](const auto& s) { return !s.has_value(); });
  while (!queue.empty()) {
    Task& t = queue.front();
    const bool needs_slot = t.kind != Task::Kind::preload;
    if (needs_slot) {
      if (effective_ctx(t) > num_ctx) break;  // waits for a reload with a bigger context
      if (free_slots == 0) break;
      --free_slots;
    }
    keep_alive = t.keep_alive.value_or(shared_.options.keep_alive);
    admitted.emplace_back(std::move(t), needs_slot ? 0 : -1);
    queue.pop_front();
    --shared_.queued;
    if (needs_slot) ++active;
  }
  if (admitted.empty()) return;
  last_used = Clock::now();
  lock.unlock();
  std::vector<bool> taken(seqs_.size());
  for (size_t i = 0; i < seqs_.size(); ++i) taken[i] = seqs_[i].has_value();
  for (auto& [task, slot] : admitted) {
    if (slot >= 0) {
      std::vector<int> free;
      for (size_t i = 0; i < taken.size(); ++i)
        if (!taken[i]) free.push_back(static_cast<int>(i));
      // An embedding reuses nothing: it takes the least recently used slot.
      static const generate::Request kNoPrompt;
      slot = runner_->choose_slot(task.kind == Task::Kind::generate ? task.gen : kNoPrompt, free);
      taken[static_cast<size_t>(slot)] = true;
    }
    switch (task.kind) {
      case Task::Kind::preload: {
        GenerationEvent e;
        e.kind = GenerationEvent::Kind::done;
        e.timings.load_ns = task.load_ns;
        e.timings.total_ns = ns_between(task.submitted, Clock::now());
        deliver(task.gen_sink, std::move(e));
        break;
      }
      case Task::Kind::generate:
        start_generation(std::move(task), slot);
        break;
      case Task::Kind::embed:
        run_embedding(std::move(task), slot);
        break;
    }
  }
  lock.lock();
  sync(lock);
}

void ModelLoop::sync(std::unique_lock<std::mutex>&) {
  const int was = active;
  active = static_cast<int>(
      std::count_if(seqs_.begin(), seqs_.end(), [](const auto& s) { return s.has_value(); }));
  if (active == 0 && (was > 0 || queue.empty())) idle_since = Clock::now();
  const auto now = Clock::now();
  last_used = now;
  shared_.prompt_tokens_total += pending_prompt_;
  shared_.completion_tokens_total += pending_completion_;
  shared_.note_tokens(now, static_cast<int>(pending_completion_));
  pending_prompt_ = pending_completion_ = 0;
}

}  // namespace hearth::server::detail
