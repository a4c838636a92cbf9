// Inside the scheduler (scheduler.h): the state the Scheduler and its model loops share, and
// one model's loop. Private to the server module.
//
// Locking: one mutex (Shared::mu) guards every queue, every loop's bookkeeping fields and the
// counters; a loop holds it only between steps, never while decoding, loading or calling a
// sink (a sink may call back into the Scheduler, e.g. stats()).
#pragma once

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "server/scheduler.h"

namespace hearth::server::detail {

using Clock = std::chrono::steady_clock;

// Nanoseconds between two instants.
inline std::int64_t ns_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count();
}

// Calls a sink if there is one. A sink that throws is a bug in its owner; the loop logs it
// and goes on, so one broken connection cannot take the model's other sequences down.
template <typename Sink, typename Event>
void deliver(const Sink& sink, Event&& event) {
  if (!sink) return;
  try {
    sink(std::forward<Event>(event));
  } catch (const std::exception& e) {
    spdlog::error("scheduler: a response sink threw: {}", e.what());
  } catch (...) {
    spdlog::error("scheduler: a response sink threw");
  }
}

// One queued piece of work for a model.
struct Task {
  enum class Kind { generate, embed, preload };
  Kind kind = Kind::generate;
  GenerationRequest gen;    // generate
  GenerationSink gen_sink;  // generate, preload
  EmbeddingRequest emb;     // embed
  EmbeddingSink emb_sink;   // embed
  std::optional<std::chrono::milliseconds> keep_alive;
  int num_ctx = 0;  // as asked (0: the scheduler's default)
  int num_gpu = -1;  // as asked (-1: Options::gpu_layers)
  Clock::time_point submitted;
  std::int64_t load_ns = 0;  // set when this task waited for the model to load
  std::shared_ptr<std::atomic<bool>> cancelled;

  bool is_cancelled() const { return cancelled && cancelled->load(); }
  // The error event / result for this task's sink (called without the lock).
  void fail(ErrorKind kind, const std::string& message);
};

class ModelLoop;

struct Shared {
  Scheduler::Options options;
  RunnerLoader loader;
  std::mutex mu;
  bool stopping = false;
  int queued = 0;                                           // tasks waiting in every loop's queue
  std::map<std::string, std::unique_ptr<ModelLoop>> loops;  // by weights file (see loop_for)
  // Counters for stats().
  std::uint64_t requests_total = 0, requests_rejected = 0;
  std::uint64_t prompt_tokens_total = 0, completion_tokens_total = 0;
  std::deque<std::pair<Clock::time_point, int>> recent_tokens;  // generation, last few seconds

  // Makes room for `bytes` more by asking the least recently used idle loops (other than `self`)
  // to unload. Returns false when even all of them would not be enough (the caller loads anyway
  // and warns). Called with mu held.
  bool make_room(const ModelLoop* self, std::uint64_t bytes);
  // Records generated tokens for tokens_per_second. Called with mu held.
  void note_tokens(Clock::time_point now, int n);
};

// One model: its queue, its loop thread, and (on that thread) its model, context and sequences.
class ModelLoop {
 public:
  ModelLoop(Shared& shared, std::string name, std::string path);
  ~ModelLoop();  // joins the thread (see join())
  // Waits for the thread to end; Shared::stopping must be set and cv notified first.
  void join();

  // ---- guarded by shared.mu ----
  std::string name, path;
  std::deque<Task> queue;
  std::condition_variable cv;
  bool loaded = false;
  bool evict = false;            // asked to unload by make_room() once idle
  std::uint64_t size_bytes = 0;  // weights file + KV cache while loaded
  int num_ctx = 0;               // per sequence, while loaded
  int gpu_layers = 0;            // the GPU layers asked for at the last load
  int active = 0;                // sequences running now
  std::chrono::milliseconds keep_alive{0};
  Clock::time_point last_used{};   // for LRU eviction
  Clock::time_point idle_since{};  // when the last sequence ended

  bool idle() const { return active == 0 && queue.empty(); }

 private:
  // A request running in a sequence slot of the runner.
  struct Running {
    Task task;
    Clock::time_point admitted, first_token;
    std::int64_t prompt_ns = 0;
  };

  void run();
  void serve(std::unique_lock<std::mutex>& lock);
  void load(std::unique_lock<std::mutex>& lock, int wanted_ctx);
  void unload(std::unique_lock<std::mutex>& lock);
  int effective_ctx(const Task& task) const;
  // The GPU layers a request asks for: its num_gpu, else Options::gpu_layers.
  int effective_gpu_layers(const Task& task) const;
  void admit(std::unique_lock<std::mutex>& lock);
  void start_generation(Task&& task, int slot);
  void run_embedding(Task&& task, int slot);
  void sync(std::unique_lock<std::mutex>& lock);  // publishes counts and counters (mu held)
  void step();
  void take(generate::Output& output);
  void fail_queue(std::unique_lock<std::mutex>& lock, ErrorKind kind, const std::string& message);

  Shared& shared_;
  // Only the loop thread touches these.
  std::unique_ptr<generate::Runner> runner_;  // the loaded model
  std::string runner_path_;                   // its weights file
  std::vector<std::optional<Running>> seqs_;  // by sequence slot
  std::uint64_t pending_prompt_ = 0;             // counters not yet added to Shared's
  std::uint64_t pending_completion_ = 0;
  std::thread thread_;
};

}  // namespace hearth::server::detail
