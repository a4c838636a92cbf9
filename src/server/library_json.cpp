// See library_json.h.
#include "server/library_json.h"

#include <cstdio>
#include <exception>

#include "core/log.h"
#include "engine/gguf/gguf.h"
#include "engine/quantize/recipe.h"
#include "server/json_util.h"

namespace hearth::server {
namespace {

namespace json = boost::json;

// "8.0B", "134.52M": what Ollama shows when the file has no general.size_label.
std::string parameter_size(const gguf::File& file) {
  double n = 0;
  for (const auto& t : file.tensors()) n += static_cast<double>(t.n_elements());
  char buf[32];
  if (n >= 1e9)
    std::snprintf(buf, sizeof buf, "%.1fB", n / 1e9);
  else if (n >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", n / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.2fK", n / 1e3);
  return buf;
}

std::string quantization_level(const gguf::File& file) {
  const auto ft = file.get_int("general.file_type");
  if (!ft) return "unknown";
  for (const auto& p : quantize::presets())
    if (p.file_type == *ft) return std::string(p.name);
  if (*ft == 0) return "F32";
  if (*ft == 1) return "F16";
  return "unknown";
}

}  // namespace

std::string_view digest_hex(std::string_view digest) {
  if (digest.rfind("sha256:", 0) == 0) digest.remove_prefix(7);
  return digest;
}

const store::BlobRef* model_blob(const store::Manifest& m) {
  for (const auto& b : m.blobs)
    if (b.media_type == "model") return &b;
  return m.blobs.empty() ? nullptr : &m.blobs.front();
}

api::ModelDetails model_details(const store::Store& store, const store::Manifest& m) {
  api::ModelDetails d;
  d.parent_model = m.base_model;
  const store::BlobRef* blob = model_blob(m);
  if (blob == nullptr) return d;
  try {
    const auto file = gguf::File::open(store.blob_path(blob->digest));
    if (auto arch = file.get_string("general.architecture")) {
      d.family = *arch;
      d.families = {*arch};
    }
    auto size = file.get_string("general.size_label");
    d.parameter_size = size ? *size : parameter_size(file);
    d.quantization_level = quantization_level(file);
  } catch (const std::exception& e) {
    SPDLOG_DEBUG("{}: no GGUF details: {}", m.full_name(), e.what());
  }
  return d;
}

json::object personal_model_json(const db::PersonalModel& row, const std::string& error) {
  auto opt_time = [](const std::optional<db::Timestamp>& t) -> json::value {
    if (!t) return nullptr;
    return json::string(db::format_time(*t));
  };
  json::object o;
  o["id"] = row.id;
  o["model_id"] = row.model_id;
  o["custom_name"] = row.custom_name;
  o["status"] = std::string(db::to_string(row.status));
  o["download_progress"] = row.download_progress;
  o["fine_tuned"] = row.fine_tuned;
  o["fine_tune_version"] = row.fine_tune_version;
  o["last_training_date"] = opt_time(row.last_training_date);
  o["performance_score"] =
      row.performance_score ? json::value(*row.performance_score) : json::value(nullptr);
  o["usage_count"] = row.usage_count;
  o["model_size_gb"] = row.model_size_gb;
  o["created_at"] = db::format_time(row.created_at);
  o["updated_at"] = db::format_time(row.updated_at);
  o["error"] = error.empty() ? json::value(nullptr) : json::value(json::string(public_message(error)));
  return o;
}

}  // namespace hearth::server
