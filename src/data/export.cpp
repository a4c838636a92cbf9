// export_dataset() and readiness(): qualifying examples into two JSONL files, recorded as a
// dataset version.
//
// Files: <out_dir>/<YYYYMMDDTHHMMSSZ>-<first 8 hex of the content hash>-train.jsonl and
// ...-validation.jsonl (the latter only when it has examples; validation_path is empty
// otherwise). Each is written to a hidden temporary file beside it, fsynced and renamed, so a
// crash never leaves a half-written dataset under the final name.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "core/error.h"
#include "core/json_text.h"
#include "core/paths.h"
#include "core/sha256.h"
#include "crypto/sealed_file.h"
#include "data/data.h"
#include "data/examples.h"

namespace hearth::data {
namespace fs = std::filesystem;
namespace {

// 0.7 as "0.7" (std::to_string would say 0.700000).
std::string plain_number(double value) {
  char buf[32];
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
}

// SplitMix64's finaliser: a well-mixed 64-bit value from (seed, conversation id), so the split
// is stable across exports and independent of conversation order.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::uint64_t split_hash(std::uint64_t seed, std::int64_t conversation_id) {
  return mix(mix(seed) ^ static_cast<std::uint64_t>(conversation_id));
}

[[noreturn]] void io_error(const std::string& what, const fs::path& path, int err) {
  throw Error(ErrorKind::io, what + " " + path.string() + ": " + std::strerror(err));
}

void write_atomically(const fs::path& path, const std::string& bytes,
                      const std::optional<crypto::DataKey>& seal) {
  if (seal) {
    crypto::write_sealed_file(path, bytes, *seal);
    return;
  }
  // Unique per process and call, so two exports that pick the same name never share a temp file.
  static std::atomic<unsigned> counter{0};
  const fs::path tmp = path.parent_path() / ("." + path.filename().string() + "." +
                                             std::to_string(::getpid()) + "-" +
                                             std::to_string(counter++) + ".tmp");
  // 0600: the files hold the user's own conversations.
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) io_error("cannot create", tmp, errno);
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      io_error("cannot write", tmp, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    io_error("cannot flush", tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    io_error("cannot rename into", path, err);
  }
  // The rename itself is durable only once the folder is synced.
  int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

// "20261125T140742Z" from "2026-11-25T14:07:42.123Z": sortable and safe in every file system.
std::string file_stamp(db::Timestamp t) {
  std::string iso = db::format_time(t), out;
  for (char c : iso.substr(0, 19))
    if (c != '-' && c != ':') out += c;
  return out + "Z";
}

void check(const ExportOptions& o) {
  if (!std::isfinite(o.min_score) || o.min_score < 0 || o.min_score > 1)
    throw Error(ErrorKind::invalid_input, "the minimum score must be within 0..1");
  if (!std::isfinite(o.validation) || o.validation < 0 || o.validation >= 1)
    throw Error(ErrorKind::invalid_input, "the validation fraction must be at least 0 and below 1");
  if (o.min_examples < 0)
    throw Error(ErrorKind::invalid_input, "the minimum number of examples cannot be negative");
}

std::string filter_json(const ExportOptions& o) {
  namespace json = boost::json;
  json::object j = {{"min_score", o.min_score},
                    {"min_examples", o.min_examples},
                    {"allow_small", o.allow_small},
                    {"model", o.model},
                    {"validation", o.validation},
                    {"redact_pii", o.redact_pii},
                    {"seed", o.seed}};
  if (o.keep_thinking) j["keep_thinking"] = true;  // older versions' filters stay as they were
  j["since"] = o.since ? json::value(db::format_time(*o.since)) : json::value(nullptr);
  return format_json(j);
}

}  // namespace

ExportResult export_dataset(const db::Database& db, std::int64_t user_id,
                            const ExportOptions& options, const fs::path& out_dir) {
  check(options);
  detail::Examples examples = detail::collect_examples(
      db, user_id,
      {options.min_score, options.model, options.since, options.redact_pii, options.keep_thinking});
  const auto count = static_cast<std::int64_t>(examples.list.size());
  if (count < options.min_examples && !options.allow_small)
    throw Error(ErrorKind::invalid_input, "only " + std::to_string(count) +
                                              " qualifying examples; at least " +
                                              std::to_string(options.min_examples) +
                                              " are needed (" + options.allow_small_name +
                                              " to export anyway)");
  if (count == 0)
    throw Error(ErrorKind::invalid_input,
                "no qualifying examples: no conversation allowed for training has an answer "
                "scoring at least " +
                    plain_number(options.min_score));

  // Whole conversations go to one side, by their hash; the smallest hashes form validation.
  std::vector<std::pair<std::uint64_t, const detail::Example*>> order;
  for (const auto& e : examples.list)
    order.emplace_back(split_hash(options.seed, e.conversation_id), &e);
  std::vector<bool> in_validation(order.size());
  std::size_t n_validation = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const double u = static_cast<double>(order[i].first >> 11) * 0x1.0p-53;  // [0, 1)
    in_validation[i] = u < options.validation;
    n_validation += in_validation[i] ? 1 : 0;
  }
  // Small sets: keep at least one example on each side when a split was asked for.
  auto extreme = [&](bool want_validation, bool smallest) {
    std::size_t best = order.size();
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (in_validation[i] != want_validation) continue;
      if (best == order.size() ||
          (smallest ? order[i].first < order[best].first : order[i].first > order[best].first))
        best = i;
    }
    return best;
  };
  if (options.validation > 0 && order.size() >= 2) {
    if (n_validation == 0) in_validation[extreme(false, true)] = true, ++n_validation;
    if (n_validation == order.size()) in_validation[extreme(true, false)] = false, --n_validation;
  }

  ExportResult result;
  std::string train, validation;
  for (std::size_t i = 0; i < order.size(); ++i) {
    std::string& file = in_validation[i] ? validation : train;
    file += order[i].second->line;
    file += '\n';
    result.weighted_turns += order[i].second->weighted_turns;
  }
  result.train_examples = static_cast<std::int64_t>(order.size() - n_validation);
  result.validation_examples = static_cast<std::int64_t>(n_validation);
  result.duplicates_removed = examples.duplicates_removed;
  Sha256 hash;
  hash.update(train);
  hash.update(validation);
  result.content_hash = hash.finish_hex();

  paths::ensure_directory(out_dir);
  const fs::path dir = fs::absolute(out_dir);
  const std::string base = file_stamp(db::now()) + "-" + result.content_hash.substr(0, 8);
  result.train_path = dir / (base + "-train.jsonl");
  std::optional<crypto::DataKey> seal;
  if (options.seal_files) seal = db.data_key(user_id);
  write_atomically(result.train_path, train, seal);
  if (n_validation > 0) {
    result.validation_path = dir / (base + "-validation.jsonl");
    try {
      write_atomically(result.validation_path, validation, seal);
    } catch (...) {
      std::error_code ec;
      fs::remove(result.train_path, ec);  // no half dataset
      throw;
    }
  }
  db::DatasetVersion v;
  v.user_id = user_id;
  v.content_hash = result.content_hash;
  v.train_examples = result.train_examples;
  v.validation_examples = result.validation_examples;
  v.filter = filter_json(options);
  v.train_path = result.train_path.string();
  v.validation_path = result.validation_path.string();
  result.dataset_version_id = db::DatasetVersions(db).create(v).id;
  return result;
}

std::vector<Readiness> readiness(const db::Database& db, std::int64_t user_id, double min_score,
                                 std::int64_t needed, std::optional<db::Timestamp> since) {
  detail::Examples examples = detail::collect_examples(db, user_id, {min_score, "", since, false});
  std::map<std::string, std::int64_t> per_model;
  // Models with allowed conversations but nothing qualifying yet show up with 0.
  const bool user_allows = db::UserSettingsStore(db).get(user_id).training_opt_in;
  for (const auto& c : db::Conversations(db).all(user_id))
    if (c.training_opt_in.value_or(user_allows)) per_model.emplace(c.model, 0);
  for (const auto& e : examples.list) ++per_model[e.model];
  std::vector<Readiness> out;
  for (const auto& [model, n] : per_model) out.push_back({model, n, needed});
  return out;
}

}  // namespace hearth::data
