// The background runner of training jobs and weekly schedules: one thread that takes one local job at a time (the oldest
// running job first, so a job cut short by a restart resumes from its checkpoint, then the oldest
// queued one), trains it with hearth's trainer at a low priority (nice) on part of the cores, and
// evaluates it (loop.h says what a job's row holds while and after it runs).
//
// Stopping the server (stop()) ends the step in flight, writes a checkpoint and leaves the job
// running in the database: the next start resumes it. A kill -9 loses the steps since the last
// checkpoint (HEARTH_TRAIN_CHECKPOINT_EVERY). A cancel (db::TrainingJobs::request_cancel, from
// any process sharing the database) is seen after the step in flight.
//
// Jobs of the remote trainer (trainer "openai", remote_job.h) run on a second thread of their
// own, one at a time as well, so that polling a remote never waits for a local job nor the reverse.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "db/db.h"
#include "library/library.h"

namespace hearth::loop {

struct RunnerSettings {
  std::filesystem::path jobs_dir;  // a folder per job: checkpoints, the adapter
  int threads = 0;                 // 0: half the cores, at least one
  int nice = 10;                   // 0..19; added to the training thread's priority
  std::uint64_t memory_budget = 0; // bytes a job may use; 0: what the system has available
  std::int64_t checkpoint_every = 10;  // steps
  // How often an idle runner looks for jobs queued by another process (wake() is immediate).
  std::chrono::milliseconds idle_poll{2000};
  // How often a remote job (remote_job.h) asks its remote for status and events.
  std::chrono::milliseconds remote_poll{1000};
  int samples = 3;  // held-out prompts answered by base and tuned for the comparison
  // The weekly schedules (schedule.h) are checked on a thread of their own every idle_poll,
  // against this clock (tests inject one); exports for them go to datasets_root/<user id>.
  std::function<std::chrono::sys_seconds()> clock;
  std::filesystem::path datasets_root;

  // HEARTH_TRAIN_THREADS, HEARTH_TRAIN_NICE, HEARTH_TRAIN_MEMORY, HEARTH_TRAIN_CHECKPOINT_EVERY;
  // jobs in HEARTH_HOME/jobs.
  static RunnerSettings from_config();
};

class JobRunner {
 public:
  JobRunner(db::Database db, library::Library& library, RunnerSettings settings);
  ~JobRunner();  // stop()
  JobRunner(const JobRunner&) = delete;
  JobRunner& operator=(const JobRunner&) = delete;

  void start();  // starts the thread (once)
  void wake();   // a job was queued or cancelled: look now
  // Stops after the step in flight (with a checkpoint) and joins the thread. Safe to repeat.
  void stop();
  // The same without waiting (safe on an I/O thread); stop() or the destructor joins.
  void request_stop();
  // The job being trained now (locally, else by the remote trainer), if any.
  std::optional<std::int64_t> current_job() const;

 private:
  void run();
  void run_remote();
  void run_schedules();  // its own thread: a window opens even while a long job trains
  bool wait_idle(std::chrono::milliseconds how_long);  // false once stopping

  db::Database db_;
  library::Library& library_;
  RunnerSettings settings_;
  std::thread thread_;
  std::thread remote_thread_;  // trainer "openai"
  std::thread schedule_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::int64_t> current_{0};
  std::atomic<std::int64_t> current_remote_{0};
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool woken_ = false;
  bool remote_woken_ = false;  // the same for the remote thread
};

}  // namespace hearth::loop
