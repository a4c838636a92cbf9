// The Library's personal-model rows (/api/personal-models) and its background pull threads
// (see library.h).

#include <algorithm>

#include "catalog/catalog.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "library/library.h"
#include "library/library_db.h"
#include "library/library_pull.h"

namespace hearth::library {

std::vector<db::PersonalModel> Library::rows(std::int64_t user_id) {
  reconcile_rows(user_id);
  return db::PersonalModels(db_).list_for_user(user_id);
}

// Rows follow the user's manifests: a model installed without a row (pulled by the CLI before
// the database existed, copied by hand) gets one, and an installed row whose manifest is gone
// (removed by `hearth rm`, or by hand) goes. Rows of unfinished or failed pulls stay: their
// manifest does not exist yet.
void Library::reconcile_rows(std::int64_t user_id) {
  LibraryDb rows = user_rows(user_id);
  std::lock_guard lock(rows_mutex_);  // not halfway through a rename
  bool complete = true;
  const std::vector<store::Manifest> installed = names(user_id).list(&complete);
  for (const auto& row : db::PersonalModels(db_).list_for_user(user_id)) {
    // A manifest that could not be read is not a missing one: its row stays.
    if (row.status != db::ModelStatus::installed || !complete) continue;
    const bool has_manifest = std::any_of(installed.begin(), installed.end(), [&](const store::Manifest& m) {
      return m.full_name() == row.custom_name;
    });
    if (!has_manifest) rows.remove(row.custom_name);
  }
  for (const auto& m : installed)
    if (!rows.find(m.full_name())) rows.record_installed(m.full_name(), m.total_size());
}

db::PersonalModel Library::row(std::int64_t user_id, std::int64_t id) {
  auto found = db::PersonalModels(db_).find(id);
  // Someone else's row answers exactly as a missing one.
  if (!found || found->user_id != user_id)
    throw Error(ErrorKind::not_found, "personal model " + std::to_string(id) + " not found");
  return *found;
}

std::string Library::failure_message(std::int64_t user_id, const std::string& full_name) {
  return user_rows(user_id).failure_message(full_name);
}

db::PersonalModel Library::start_download(std::int64_t user_id, std::string_view ref,
                                          const PullSettings& settings) {
  // The cheap checks of pull() (reference, name, ownership) answer the request itself; the
  // download, the fit check and everything after run on the background thread.
  const PullPlan plan = checked_plan(user_id, ref, settings);
  LibraryDb rows = user_rows(user_id);
  if (auto existing = rows.find(plan.full_name);
      existing && existing->status == db::ModelStatus::installed && names(user_id).find(plan.full_name))
    return *existing;  // nothing to do
  {
    std::lock_guard lock(mutex_);
    if (active_pulls_.count(std::to_string(user_id) + " " + plan.full_name) != 0)
      throw Error(ErrorKind::conflict,
                  "a pull of " + plan.full_name + " is already running; wait for it to finish");
  }
  const double size_gb = static_cast<double>(plan.size) / static_cast<double>(hardware::kGiB);
  db::PersonalModel made = rows.begin_pull(plan.full_name, plan.model_id, size_gb, "");
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  {
    std::lock_guard lock(mutex_);
    row_cancels_[made.id] = cancel;
  }
  const std::string reference(ref);
  const std::string full_name = plan.full_name;
  try {
    run_in_background([this, user_id, reference, settings, cancel, full_name,
                       id = made.id](const std::function<bool()>& stopping) {
      auto finish = [&] {
        std::lock_guard lock(mutex_);
        row_cancels_.erase(id);
      };
      try {
        auto installed =
            pull(user_id, reference, {}, [&] { return cancel->load() || stopping(); }, settings);
        if (installed && cancel->load() && !user_rows(user_id).find(full_name)) {
          // Deleted while its last step ran: the delete wins, so it never answered 200 in vain.
          store::Store& mine = names(user_id);
          if (mine.find(full_name)) mine.remove(full_name);
        }
      } catch (const std::exception& e) {
        // pull() marks the row failed once it made it; errors before that (fit, an unreachable
        // host) must still end the row made above. A conflict (the same pull started twice at
        // once) leaves the row to the pull that runs.
        spdlog::warn("pull of {} for user {} failed: {}", full_name, user_id, e.what());
        const auto* error = dynamic_cast<const Error*>(&e);
        if (error != nullptr && error->kind() == ErrorKind::conflict) return;
        try {
          if (!cancel->load()) user_rows(user_id).fail(id, full_name, e.what());
        } catch (const std::exception& inner) {
          spdlog::warn("database: cannot mark {} failed: {}", full_name, inner.what());
        }
      }
      finish();
    });
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mutex_);
      row_cancels_.erase(made.id);
    }
    rows.fail(made.id, plan.full_name, e.what());  // the server is stopping: it never started
    throw;
  }
  return made;
}

db::PersonalModel Library::update(std::int64_t user_id, std::int64_t id,
                                  const std::optional<std::string>& custom_name,
                                  const std::optional<api::Options>& parameters) {
  std::lock_guard lock(rows_mutex_);
  forget_served_versions(user_id);
  db::PersonalModel current = row(user_id, id);
  LibraryDb rows = user_rows(user_id);
  const std::string old_name = current.custom_name;
  std::optional<store::Manifest> manifest = names(user_id).find(old_name);
  // A pull still running writes under the old name; once the row is installed (or failed) its
  // thread has nothing left to write.
  const bool unfinished = current.status != db::ModelStatus::installed &&
                          current.status != db::ModelStatus::failed;
  if (custom_name && unfinished) {
    std::lock_guard lock(mutex_);
    if (row_cancels_.count(id) != 0)
      throw Error(ErrorKind::conflict, old_name + " is still downloading; rename it later");
  }
  store::Store& mine = names(user_id);
  if (parameters) {
    if (!manifest || current.status != db::ModelStatus::installed)
      throw Error(ErrorKind::conflict, old_name + " is not installed yet; set its parameters "
                                                  "once its download has finished");
    manifest->parameters = *parameters;
    mine.write(*manifest);
  }
  if (custom_name) {
    const std::string new_name = store::parse_model_name(*custom_name).full();
    if (new_name != old_name) {
      if (manifest) {
        if (mine.find(new_name) || rows.find(new_name))
          throw Error(ErrorKind::conflict, "you already have a model named " + new_name +
                                               "; choose another name");
        rows.models().rename(id, new_name);  // conflict when the caller already has that name
        store::Manifest moved = *manifest;
        const store::ModelName n = store::parse_model_name(new_name);
        moved.name = n.name;
        moved.tag = n.tag;
        try {
          mine.write(moved);
        } catch (...) {
          rows.models().rename(id, old_name);
          throw;
        }
        mine.remove(old_name);
      } else {
        rows.models().rename(id, new_name);
      }
      rows.clear_failure(old_name);
      // The usage totals are kept by name: they follow the model. A failure costs the figures
      // only, never the rename.
      try {
        db::ModelUsage(rows.database()).rename(user_id, old_name, new_name);
      } catch (const std::exception& e) {
        SPDLOG_WARN("usage of {} not moved to {}: {}", old_name, new_name, e.what());
      }
      audit(user_id, "rename", new_name, format_json(boost::json::object{{"from", old_name}}));
    }
  }
  return row(user_id, id);
}

void Library::remove_row(std::int64_t user_id, std::int64_t id) {
  const db::PersonalModel current = row(user_id, id);
  forget_served_versions(user_id);
  {
    std::lock_guard lock(mutex_);
    if (auto it = row_cancels_.find(id); it != row_cancels_.end()) it->second->store(true);
  }
  LibraryDb rows = user_rows(user_id);
  rows.remove(current.custom_name);
  store::Store& mine = names(user_id);
  if (mine.find(current.custom_name)) mine.remove(current.custom_name);
  audit(user_id, "delete", current.custom_name, "{}");
}

void Library::run_in_background(std::function<void(const std::function<bool()>&)> work) {
  std::vector<Worker> finished;
  {
    std::lock_guard lock(mutex_);
    if (stopping_.load())
      throw Error(ErrorKind::unavailable, "the server is shutting down; try again later");
    // Join threads that are done, so that a long-running server does not collect them.
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (it->done->load()) {
        finished.push_back(std::move(*it));
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([this, work = std::move(work), done] {
      try {
        work([this] { return stopping_.load(); });
      } catch (const std::exception& e) {
        spdlog::error("background task failed: {}", e.what());
      }
      done->store(true);
    });
    workers_.push_back({std::move(thread), done});
  }
  for (auto& w : finished) w.thread.join();
}

void Library::stop() { stopping_.store(true); }

void Library::shutdown() {
  std::vector<Worker> workers;
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true);
    workers.swap(workers_);
  }
  for (auto& w : workers)
    if (w.thread.joinable()) w.thread.join();
}

}  // namespace hearth::library
