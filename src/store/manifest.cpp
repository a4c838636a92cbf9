// Model names and the manifest file format (documented in store/store.h).
#include <cctype>

#include "api/fields.h"
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

boost::json::object manifest_to_json(const Manifest& m) {
  boost::json::array blobs;
  for (const auto& b : m.blobs)
    blobs.push_back(
        boost::json::object{{"digest", b.digest}, {"size", b.size}, {"media_type", b.media_type}});
  boost::json::object out{{"schema", kManifestSchema},
                          {"name", m.name},
                          {"tag", m.tag},
                          {"blobs", std::move(blobs)},
                          {"parameters", api::to_json(m.parameters)},
                          {"template", m.template_text},
                          {"source", m.source},
                          {"lineage", boost::json::object{{"base_model", m.base_model}}},
                          {"created_at", m.created_at}};
  // Written only when set, so that manifests of models without them stay as they were.
  if (!m.system.empty()) out["system"] = m.system;
  if (!m.license.empty()) out["license"] = m.license;
  return out;
}

Manifest manifest_from_json(const boost::json::value& json, const std::string& where) {
  const boost::json::value* schema = json.is_object() ? json.get_object().if_contains("schema") : nullptr;
  if (schema == nullptr || !schema->is_int64())
    throw Error(ErrorKind::corrupt_file, where + ": not a hearth manifest (no \"schema\")");
  if (const std::int64_t version = schema->get_int64(); version != kManifestSchema)
    throw Error(version > kManifestSchema ? ErrorKind::unsupported : ErrorKind::corrupt_file,
                where + ": manifest schema " + std::to_string(version) + " (this hearth reads " +
                    std::to_string(kManifestSchema) + "); update hearth");
  const boost::json::object& o = json.get_object();
  try {
    Manifest m;
    m.name = api::req_string(o, "name");
    m.tag = api::req_string(o, "tag");
    const boost::json::array* blobs = api::opt_array(o, "blobs");
    if (blobs == nullptr) throw Error(ErrorKind::corrupt_file, "no \"blobs\"");
    for (const auto& item : *blobs) {
      if (!item.is_object()) throw Error(ErrorKind::corrupt_file, "a blob is not an object");
      const auto& b = item.get_object();
      const std::int64_t size = api::opt_int(b, "size").value_or(-1);
      if (size < 0) throw Error(ErrorKind::corrupt_file, "a blob has no size");
      BlobRef ref{api::req_string(b, "digest"), static_cast<uint64_t>(size),
                  api::req_string(b, "media_type")};
      if (ref.media_type != "model" && ref.media_type != "adapter")
        throw Error(ErrorKind::corrupt_file, "unknown media_type '" + ref.media_type + "'");
      m.blobs.push_back(std::move(ref));
    }
    // Options hearth does not know (written by a newer version, or by hand) are left out.
    if (const auto* parameters = api::opt_object(o, "parameters"))
      m.parameters = api::read_options(*parameters, api::UnknownOptions::ignore);
    m.template_text = api::opt_string(o, "template").value_or("");
    m.source = api::opt_string(o, "source").value_or("");
    m.system = api::opt_string(o, "system").value_or("");
    m.license = api::opt_string(o, "license").value_or("");
    if (const auto* lineage = api::opt_object(o, "lineage"))
      m.base_model = api::opt_string(*lineage, "base_model").value_or("");
    m.created_at = api::opt_string(o, "created_at").value_or("");
    return m;
  } catch (const Error& e) {
    throw Error(ErrorKind::corrupt_file, where + ": bad manifest: " + e.what());
  }
}

}  // namespace hearth::store
