// Inside the loop module: reading the JSON the database keeps, a model's digest, job events.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "core/json_text.h"
#include "core/log.h"
#include "db/training.h"
#include "store/store.h"

namespace hearth::loop::detail {

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

}  // namespace hearth::loop::detail
