// See runner.h.
#include "loop/runner.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/paths.h"
#include "loop/local_job.h"
#include "loop/loop.h"
#include "loop/remote_job.h"
#include "loop/schedule.h"

namespace hearth::loop {

RunnerSettings RunnerSettings::from_config() {
  RunnerSettings s;
  s.jobs_dir = paths::home() / "jobs";
  s.datasets_root = paths::home() / "datasets";
  s.threads = static_cast<int>(config::get_int("HEARTH_TRAIN_THREADS", 0, 4096));
  s.nice = static_cast<int>(config::get_int("HEARTH_TRAIN_NICE", 0, 19));
  if (!config::get("HEARTH_TRAIN_MEMORY").empty())
    s.memory_budget = static_cast<std::uint64_t>(config::get_int("HEARTH_TRAIN_MEMORY", 1, 1LL << 40))
                      << 20;
  s.checkpoint_every = config::get_int("HEARTH_TRAIN_CHECKPOINT_EVERY", 1, 1'000'000);
  return s;
}

JobRunner::JobRunner(db::Database db, library::Library& library, RunnerSettings settings)
    : db_(std::move(db)), library_(library), settings_(std::move(settings)) {
  if (!settings_.clock)
    settings_.clock = [] {
      return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    };
  if (settings_.threads <= 0)
    settings_.threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
}

JobRunner::~JobRunner() { stop(); }

void JobRunner::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
  remote_thread_ = std::thread([this] { run_remote(); });
  schedule_thread_ = std::thread([this] { run_schedules(); });
}

void JobRunner::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
    remote_woken_ = true;
  }
  wake_.notify_all();
}

void JobRunner::request_stop() {
  stopping_ = true;
  wake();
}

void JobRunner::stop() {
  request_stop();
  if (thread_.joinable()) thread_.join();
  if (remote_thread_.joinable()) remote_thread_.join();
  if (schedule_thread_.joinable()) schedule_thread_.join();
}

bool JobRunner::wait_idle(std::chrono::milliseconds how_long) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, how_long, [this] { return woken_ || stopping_.load(); });
  woken_ = false;
  return !stopping_;
}

void JobRunner::run_schedules() {
  while (!stopping_) {
    try {
      for (const ScheduleOutcome& o :
           run_due_schedules(db_, library_, settings_.clock(), settings_.datasets_root)) {
        SPDLOG_INFO("training schedule of personal model {}: {}", o.personal_model_id, o.outcome);
        if (o.job_id) wake();
      }
    } catch (const std::exception& e) {
      SPDLOG_WARN("training schedules: {}", e.what());
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, settings_.idle_poll, [this] { return stopping_.load(); });
  }
}

std::optional<std::int64_t> JobRunner::current_job() const {
  std::int64_t id = current_.load();
  if (id == 0) id = current_remote_.load();
  if (id == 0) return std::nullopt;
  return id;
}

void JobRunner::run() {
  // Training yields to everything else on the machine: the nice value is per thread on Linux and
  // the compute threads the job starts inherit it.
  if (settings_.nice > 0)
    setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), settings_.nice);
  while (!stopping_) {
    std::optional<db::TrainingJob> job;
    try {
      job = db::TrainingJobs(db_).next_to_run("local");
    } catch (const std::exception& e) {
      SPDLOG_WARN("training jobs: cannot read the queue: {}", e.what());
    }
    if (job) {
      current_ = job->id;
      run_local_job(db_, library_, settings_, *job, stopping_);
      current_ = 0;
      continue;
    }
    wait_idle(settings_.idle_poll);
  }
}

void JobRunner::run_remote() {
  while (!stopping_) {
    std::optional<db::TrainingJob> job;
    try {
      job = db::TrainingJobs(db_).next_to_run("openai");
    } catch (const std::exception& e) {
      SPDLOG_WARN("remote training jobs: cannot read the queue: {}", e.what());
    }
    if (job) {
      current_remote_ = job->id;
      run_remote_job(db_, settings_, *job, stopping_);
      current_remote_ = 0;
      continue;
    }
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, settings_.idle_poll, [this] { return remote_woken_ || stopping_.load(); });
    remote_woken_ = false;
  }
}

}  // namespace hearth::loop
