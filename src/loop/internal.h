// Inside the loop module: reading the JSON the database keeps, a model's digest, job events.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "core/json_text.h"
#include "core/log.h"
#include "db/training.h"
#include "loop/loop.h"
#include "store/store.h"

namespace hearth::loop::detail {

// The weights a local job adapts (every attention and FFN projection) and its adapter's seed.
inline const std::vector<std::string> kTargets = {"q", "k", "v", "o", "gate", "up", "down"};
inline constexpr std::uint64_t kSeed = 42;
// Examples are cut to this many tokens.
inline constexpr int kMaxSeq = 1024;

// A stored JSON object's text as an object ({} for empty or anything else).
inline boost::json::object object_of(const std::string& text) {
  if (auto v = parse_json(text.empty() ? "{}" : text); v && v->is_object()) return v->as_object();
  return {};
}

// "sha256:..." of a manifest's weights ("" when it has none).
inline std::string model_digest(const store::Manifest& m) {
  for (const auto& blob : m.blobs)
    if (blob.media_type == "model") return blob.digest;
  return {};
}

// Adds an event to a job's stream; best effort (a busy database costs the line, never the job).
inline void record_event(const db::Database& db, std::int64_t job_id, const std::string& level,
                         const std::string& message, const boost::json::object& data) {
  try {
    db::JobEvents(db).add(job_id, level, message, format_json(data));
  } catch (const std::exception& e) {
    SPDLOG_WARN("training job {}: cannot record an event: {}", job_id, e.what());
  }
}

// A job that ended with `e`: its error event, failed status and audit entry (best effort each).
// Nothing is recorded when the job had already ended (cancelled before it could start).
inline void record_failure(const db::Database& db, const db::TrainingJob& job,
                           const std::exception& e, boost::json::object audit_detail) {
  try {
    if (auto now = db::TrainingJobs(db).find(job.id); !now || (now->status != db::JobStatus::queued &&
                                                               now->status != db::JobStatus::running))
      return;
  } catch (const std::exception&) {
  }
  SPDLOG_WARN("training job {} failed: {}", job.id, e.what());
  record_event(db, job.id, "error", std::string("failed: ") + e.what(), {});
  try {
    db::TrainingJobs(db).fail(job.id, e.what());
  } catch (const std::exception& again) {
    SPDLOG_WARN("training job {}: cannot record its failure: {}", job.id, again.what());
  }
  audit_detail["job_id"] = job.id;
  audit_detail["status"] = "failed";
  audit_detail["error"] = e.what();
  audit(db, job.started_by, "training.finish", job.base_model, audit_detail);
}

}  // namespace hearth::loop::detail
