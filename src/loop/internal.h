// Inside the loop module: reading the JSON the database keeps, and a model's digest.
#pragma once

#include <string>

#include <boost/json/object.hpp>

#include "core/json_text.h"
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

}  // namespace hearth::loop::detail
