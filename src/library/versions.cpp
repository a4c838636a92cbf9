// Resolving a personal model's fine-tuned versions (library.h, Library::resolve): the served one,
// "name@vN", and the "ft:...::<job>" alias of the fine-tuning API.
#include <charconv>

#include "core/error.h"
#include "db/training.h"
#include "library/library.h"

namespace hearth::library {
namespace {

// The number after `text` ends with a marker ("@v12", "::12"); nullopt when it does not.
std::optional<std::int64_t> trailing_number(std::string_view text, std::string_view marker,
                                            std::string_view& rest) {
  const std::size_t at = text.rfind(marker);
  if (at == std::string_view::npos) return std::nullopt;
  const std::string_view digits = text.substr(at + marker.size());
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || n < 0)
    return std::nullopt;
  rest = text.substr(0, at);
  return n;
}

std::string weights_digest(const store::Manifest& m) {
  for (const auto& blob : m.blobs)
    if (blob.media_type == "model") return blob.digest;
  return {};
}

// An adapter is trained on one base's weights: on others (the name pulled again) it would
// answer nonsense, or not load at all.
void refuse_other_weights(const std::string& trained_on, const ResolvedModel& r,
                          const std::string& what) {
  if (!trained_on.empty() && trained_on != weights_digest(r.manifest))
    throw Error(ErrorKind::conflict,
                what + " of '" + r.name + "' was trained on other weights than those installed "
                "as '" + r.name + "' now (the model was pulled again); roll it back or train it anew");
}

}  // namespace

ResolvedModel Library::resolve(std::int64_t user_id, std::string_view name) {
  // "ft:<base>:<user>:<suffix>:<job>" (the suffix may be empty): a job of the caller's.
  if (name.starts_with("ft:")) {
    std::string_view rest;
    const auto job_id = trailing_number(name, ":", rest);
    auto job = job_id ? db::TrainingJobs(db_).find(*job_id) : std::nullopt;
    if (!job || job->user_id != user_id)
      throw Error(ErrorKind::not_found, "model '" + std::string(name) + "' not found");
    ResolvedModel r = resolve_installed(user_id, job->base_model);
    refuse_other_weights(job->base_digest, r, "'" + std::string(name) + "'");
    if (job->deployed_version) {
      auto v = db::ModelVersions(db_).find(job->model_id, *job->deployed_version);
      if (v && !v->adapter_path.empty()) {
        r.version = v->version;
        r.adapters = {v->adapter_path};
        return r;
      }
      if (v && !v->remote_model.empty()) {
        r.version = v->version;
        r.remote_base_url = v->remote_base_url;
        r.remote_model = v->remote_model;
        return r;
      }
    }
    if (job->status != db::JobStatus::completed || job->adapter_path.empty())
      throw Error(ErrorKind::not_found, "model '" + std::string(name) + "' is not ready: its job is " +
                                            std::string(db::to_string(job->status)));
    r.adapters = {job->adapter_path};
    return r;
  }

  std::string_view base_name = name;
  const auto asked = trailing_number(name, "@v", base_name);
  ResolvedModel r = resolve_installed(user_id, base_name);
  std::uint64_t generation = 0;
  if (!asked) {
    std::lock_guard lock(served_mutex_);
    generation = served_generation_[user_id];
    if (auto it = served_.find({user_id, r.name});
        it != served_.end() && it->second.weights == weights_digest(r.manifest)) {
      r.version = it->second.version;
      if (!it->second.adapter.empty()) r.adapters = {it->second.adapter};
      r.remote_base_url = it->second.remote_base_url;
      r.remote_model = it->second.remote_model;
      return r;
    }
  }
  r = resolve_version(user_id, std::move(r), asked);
  if (!asked) {
    std::lock_guard lock(served_mutex_);
    if (served_generation_[user_id] == generation)
      served_[{user_id, r.name}] = Served{weights_digest(r.manifest), r.version,
                                          // a version's own adapter; the base's (its
                                          // manifest's) come with resolve_installed
                                          r.version == 0 || r.adapters.empty()
                                              ? std::filesystem::path()
                                              : r.adapters.front(),
                                          r.remote_base_url, r.remote_model};
  }
  return r;
}

void Library::forget_served_versions(std::int64_t user_id) {
  std::lock_guard lock(served_mutex_);
  ++served_generation_[user_id];
  std::erase_if(served_, [&](const auto& entry) { return entry.first.first == user_id; });
}

ResolvedModel Library::resolve_version(std::int64_t user_id, ResolvedModel r,
                                       std::optional<std::int64_t> asked) {
  int version = 0;
  const std::optional<db::PersonalModel> row = db::PersonalModels(db_).find_by_name(user_id, r.name);
  if (asked) {
    version = static_cast<int>(*asked);
  } else if (row) {
    version = row->fine_tune_version;
  }
  if (version == 0) return r;
  auto v = row ? db::ModelVersions(db_).find(row->id, version) : std::nullopt;
  if (!v)
    throw Error(ErrorKind::not_found,
                "model '" + r.name + "' has no version " + std::to_string(version));
  r.version = version;
  if (v->adapter_path.empty()) {  // trained and served by a remote API
    r.remote_base_url = v->remote_base_url;
    r.remote_model = v->remote_model;
    return r;
  }
  refuse_other_weights(v->base_digest, r, "version " + std::to_string(version));
  r.adapters = {v->adapter_path};
  return r;
}

}  // namespace hearth::library
