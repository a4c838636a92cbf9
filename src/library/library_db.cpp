// See library_db.h. Moved here from the CLI so that the server keeps rows the same way.
#include "library/library_db.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/paths.h"
#include "db/db.h"
#include "library/local_user.h"
#include "store/store.h"

namespace hearth::library {
namespace {

std::filesystem::path failure_path(const std::filesystem::path& dir, const std::string& full_name) {
  store::ModelName n = store::parse_model_name(full_name);
  return dir / n.name / ((n.tag.empty() ? "latest" : n.tag) + ".txt");
}

std::string read_failure(const std::filesystem::path& dir, const std::string& full_name) {
  try {
    std::ifstream in(failure_path(dir, full_name));
    if (!in) return "";
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  } catch (const std::exception&) {
    return "";
  }
}

void remove_failure(const std::filesystem::path& dir, const std::string& full_name) {
  try {
    std::error_code ec;
    std::filesystem::remove(failure_path(dir, full_name), ec);
  } catch (const std::exception&) {
  }
}

std::string& cli_user_storage() {
  static std::string name;
  return name;
}

bool cli_acts_for_owner() {
  const std::string& name = cli_user_storage();
  return name.empty() || name == kLocalUser;
}

// The CLI's user's id: the local user's unless set_cli_user named another.
std::int64_t cli_user_id(const db::Database& db) {
  if (cli_acts_for_owner()) return local_user_id(db);
  const std::string& name = cli_user_storage();
  auto user = db::Users(db).find_by_name(name);
  if (!user) throw Error(ErrorKind::not_found, "no user named '" + name + "' (see `hearth user list`)");
  return user->id;
}

}  // namespace

void set_cli_user(std::string name) { cli_user_storage() = std::move(name); }

std::filesystem::path failures_dir_for(const std::filesystem::path& home, std::int64_t user_id,
                                       bool is_local) {
  return is_local ? home / "failures" : home / "failures-by-user" / std::to_string(user_id);
}

std::string cli_space() {
  if (cli_acts_for_owner()) return "";
  return std::to_string(cli_user_id(db::Database::open(config::get("HEARTH_DB"))));
}

LibraryDb::LibraryDb() : db_(db::Database::open(config::get("HEARTH_DB"))), models_(db_) {
  user_id_ = cli_user_id(db_);
  failures_dir_ = failures_dir_for(paths::home(), user_id_, cli_acts_for_owner());
}

LibraryDb::LibraryDb(db::Database db, std::int64_t user_id, std::filesystem::path failures_dir)
    : db_(std::move(db)), models_(db_), user_id_(user_id), failures_dir_(std::move(failures_dir)) {}

std::filesystem::path LibraryDb::failure_file(const std::string& full_name) const {
  return failure_path(failures_dir_, full_name);
}

std::optional<db::PersonalModel> LibraryDb::find(const std::string& full_name) {
  return models_.find_by_name(user_id_, full_name);
}

db::PersonalModel LibraryDb::begin_pull(const std::string& full_name, const std::string& model_id,
                                        double size_gb, const std::string& local_path) {
  auto row = find(full_name);
  if (row && row->status == db::ModelStatus::installed) {
    models_.remove(row->id);
    row.reset();
  }
  if (!row) {
    db::NewPersonalModel m;
    m.user_id = user_id_;
    m.model_id = model_id;
    m.custom_name = full_name;
    m.model_size_gb = size_gb;
    m.local_path = local_path;
    return models_.add(m);
  }
  if (row->status == db::ModelStatus::verifying)  // cut short while verifying: start over
    models_.set_status(row->id, db::ModelStatus::failed);
  if (row->status == db::ModelStatus::failed || row->status == db::ModelStatus::verifying)
    models_.set_status(row->id, db::ModelStatus::pending);
  if (!local_path.empty() && row->local_path != local_path)
    models_.set_local_path(row->id, local_path);
  // A download started from the API makes its row before the size is asked of the source.
  if (size_gb > 0 && row->model_size_gb != size_gb) models_.set_size(row->id, size_gb);
  return *models_.find(row->id);
}

void LibraryDb::advance(std::int64_t id, db::ModelStatus status) {
  using S = db::ModelStatus;
  auto row = models_.find(id);
  if (!row)
    throw Error(ErrorKind::not_found,
                "database: personal model " + std::to_string(id) + " is gone");
  S current = row->status;
  if (current == status) return;
  if (status == S::failed || current == S::installed) return models_.set_status(id, status);
  if (current == S::failed) {
    models_.set_status(id, S::pending);
    current = S::pending;
  }
  // Walk forward along pending → downloading → verifying → installed (an interrupted pull may
  // have left the row a step or two behind).
  static constexpr S kOrder[] = {S::pending, S::downloading, S::verifying, S::installed};
  auto index = [](S s) {
    for (size_t i = 0; i < 4; ++i)
      if (kOrder[i] == s) return i;
    return size_t{0};
  };
  if (index(status) <= index(current)) return;  // already there or further along
  for (size_t i = index(current) + 1; i <= index(status); ++i) models_.set_status(id, kOrder[i]);
}

void LibraryDb::set_performance_score(std::int64_t id, double score) {
  models_.set_performance_score(id, score);
}

void LibraryDb::fail(std::int64_t id, const std::string& full_name, const std::string& message) {
  // The message first: whoever sees the row failed (a dashboard polling its status on another
  // thread) finds why.
  try {
    auto file = failure_file(full_name);
    paths::ensure_directory(file.parent_path());
    std::ofstream(file, std::ios::trunc) << message << "\n";
  } catch (const std::exception& e) {
    spdlog::warn("cannot record why {} failed: {}", full_name, e.what());
  }
  try {
    auto row = models_.find(id);
    if (row && row->status != db::ModelStatus::failed && row->status != db::ModelStatus::installed)
      models_.set_status(id, db::ModelStatus::failed);
  } catch (const Error& e) {
    spdlog::warn("cannot mark {} failed in the database: {}", full_name, e.what());
  }
}

bool LibraryDb::remove(const std::string& full_name) {
  clear_failure(full_name);
  auto row = find(full_name);
  return row && models_.remove(row->id);
}

void LibraryDb::copy(const std::string& src, const std::string& dst,
                     const std::string& local_path) {
  auto from = find(src);
  if (auto old = find(dst)) models_.remove(old->id);
  db::NewPersonalModel m;
  m.user_id = user_id_;
  m.model_id = from ? from->model_id : src;
  m.custom_name = dst;
  m.model_size_gb = from ? from->model_size_gb : 0;
  m.local_path = local_path;
  m.fine_tuned = from && from->fine_tuned;
  m.fine_tune_version = from ? from->fine_tune_version : 0;
  auto row = models_.add(m);
  const auto target = from ? from->status : db::ModelStatus::installed;
  if (target == db::ModelStatus::failed) {
    models_.set_status(row.id, db::ModelStatus::failed);
    if (auto msg = failure_message(src); !msg.empty()) fail(row.id, dst, msg);
  } else {
    advance(row.id, target);
  }
  if (from && from->performance_score) set_performance_score(row.id, *from->performance_score);
}

void LibraryDb::record_installed(const std::string& full_name, std::uint64_t size_bytes) {
  db::NewPersonalModel m;
  m.user_id = user_id_;
  m.model_id = full_name;
  m.custom_name = full_name;
  m.model_size_gb = static_cast<double>(size_bytes) / (1024.0 * 1024.0 * 1024.0);
  advance(models_.add(m).id, db::ModelStatus::installed);
}

void LibraryDb::audit(const std::string& action, const std::string& target,
                      const std::string& detail_json) {
  try {
    db::AuditLog(db_).record(user_id_, action, target, detail_json);
  } catch (const std::exception& e) {
    spdlog::warn("audit log: cannot record {} {}: {}", action, target, e.what());
  }
}

std::string LibraryDb::failure_message(const std::string& full_name) const {
  return read_failure(failures_dir_, full_name);
}

void LibraryDb::clear_failure(const std::string& full_name) const {
  remove_failure(failures_dir_, full_name);
}

std::string local_failure_message(const std::string& full_name) {
  try {
    if (!cli_acts_for_owner()) return LibraryDb().failure_message(full_name);
    return read_failure(paths::home() / "failures", full_name);
  } catch (const std::exception&) {
    return "";
  }
}

void clear_local_failure(const std::string& full_name) {
  try {
    if (!cli_acts_for_owner()) return LibraryDb().clear_failure(full_name);
    remove_failure(paths::home() / "failures", full_name);
  } catch (const std::exception&) {
  }
}

std::optional<db::PersonalModel> try_find_row(const std::string& full_name) {
  try {
    LibraryDb library;
    return library.find(full_name);
  } catch (const std::exception& e) {
    spdlog::warn("database: cannot read the status of {}: {}", full_name, e.what());
    return std::nullopt;
  }
}

}  // namespace hearth::library
