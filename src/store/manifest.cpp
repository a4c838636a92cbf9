// Model names and the manifest file format (documented in store/store.h).
#include <cctype>

#include "core/error.h"
#include "store/store.h"

namespace hearth::store {
namespace {

bool valid_segment(std::string_view s) {
  if (s.empty() || s.size() > 128 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
      return false;
  return true;
}

[[noreturn]] void bad_name(std::string_view ref) {
  throw Error(ErrorKind::invalid_input,
              "'" + std::string(ref) +
                  "' is not a model name: use name[:tag] with letters, digits, '.', '_' and '-' "
                  "(and '/' between name parts), e.g. fast-assistant:q8_0");
}

}  // namespace

ModelName parse_model_name(std::string_view ref) {
  ModelName out;
  std::string_view name = ref;
  if (auto colon = ref.rfind(':'); colon != std::string_view::npos) {
    name = ref.substr(0, colon);
    out.tag = std::string(ref.substr(colon + 1));
    if (!valid_segment(out.tag)) bad_name(ref);
  }
  if (name.empty() || name.size() > 256) bad_name(ref);
  for (std::string_view rest = name;;) {
    auto slash = rest.find('/');
    if (!valid_segment(rest.substr(0, slash))) bad_name(ref);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  out.name = std::string(name);
  return out;
}

uint64_t Manifest::total_size() const {
  uint64_t total = 0;
  for (const auto& b : blobs) total += b.size;
  return total;
}

nlohmann::json manifest_to_json(const Manifest& m) {
  nlohmann::json blobs = nlohmann::json::array();
  for (const auto& b : m.blobs)
    blobs.push_back({{"digest", b.digest}, {"size", b.size}, {"media_type", b.media_type}});
  return {{"schema", kManifestSchema},
          {"name", m.name},
          {"tag", m.tag},
          {"blobs", blobs},
          {"parameters", m.parameters},
          {"template", m.template_text},
          {"source", m.source},
          {"lineage", {{"base_model", m.base_model}}},
          {"created_at", m.created_at}};
}

Manifest manifest_from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object() || !json.contains("schema") || !json["schema"].is_number_integer())
    throw Error(ErrorKind::corrupt_file, where + ": not a hearth manifest (no \"schema\")");
  if (int schema = json["schema"].get<int>(); schema != kManifestSchema)
    throw Error(schema > kManifestSchema ? ErrorKind::unsupported : ErrorKind::corrupt_file,
                where + ": manifest schema " + std::to_string(schema) + " (this hearth reads " +
                    std::to_string(kManifestSchema) + "); update hearth");
  try {
    Manifest m;
    m.name = json.at("name").get<std::string>();
    m.tag = json.at("tag").get<std::string>();
    for (const auto& b : json.at("blobs")) {
      BlobRef ref{b.at("digest").get<std::string>(), b.at("size").get<uint64_t>(),
                  b.at("media_type").get<std::string>()};
      if (ref.media_type != "model" && ref.media_type != "adapter")
        throw Error(ErrorKind::corrupt_file, "unknown media_type '" + ref.media_type + "'");
      m.blobs.push_back(std::move(ref));
    }
    m.parameters = json.value("parameters", nlohmann::json::object());
    if (!m.parameters.is_object()) throw Error(ErrorKind::corrupt_file, "parameters not an object");
    m.template_text = json.value("template", "");
    m.source = json.value("source", "");
    if (json.contains("lineage")) m.base_model = json["lineage"].value("base_model", "");
    m.created_at = json.value("created_at", "");
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorKind::corrupt_file, where + ": bad manifest: " + e.what());
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt_file, where + ": bad manifest: " + e.what());
  }
}

}  // namespace hearth::store
