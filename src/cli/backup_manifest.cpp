// hearth-backup.json to and from JSON (see backup_manifest.h).
#include "cli/backup_manifest.h"

#include <boost/json.hpp>

#include "core/error.h"
#include "core/json_text.h"

namespace hearth::cli::backup {
namespace json = boost::json;

std::string to_json_text(const Manifest& m) {
  json::array files;
  for (const auto& f : m.files)
    files.push_back(json::object{{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}, {"mode", f.mode}});
  json::array models;
  for (const auto& lo : m.left_out_models) {
    json::array names;
    for (const auto& n : lo.names) names.push_back(json::string(n));
    models.push_back(json::object{
        {"digest", lo.digest}, {"size", lo.size}, {"names", names}, {"source", lo.source}});
  }
  json::array secrets;
  for (const auto& s : m.left_out_secrets) secrets.push_back(json::string(s));
  return format_json(json::object{
                         {"format", "hearth-backup"},
                         {"version", m.version},
                         {"created_at", m.created_at},
                         {"hearth_version", m.hearth_version},
                         {"database", json::object{{"kind", m.database_kind},
                                                   {"file", m.database_file},
                                                   {"schema_version", m.schema_version}}},
                         {"files", files},
                         {"includes_key", m.includes_key},
                         {"includes_models", m.includes_models},
                         {"left_out", json::object{{"models", models}, {"secrets", secrets}}},
                     },
                     2) +
         "\n";
}

Manifest manifest_from_json_text(const std::string& text, const std::string& where) {
  std::string why;
  const auto parsed = parse_json(text, &why);
  auto bad = [&](const std::string& what) {
    return Error(ErrorKind::corrupt_file, where + ": its manifest is damaged: " + what);
  };
  if (!parsed || !parsed->is_object()) throw bad(why.empty() ? "not a JSON object" : why);
  const json::object& o = parsed->get_object();
  const json::value* format = o.if_contains("format");
  if (format == nullptr || !format->is_string() || format->get_string() != "hearth-backup")
    throw bad("it is not a hearth backup manifest (\"format\" is not \"hearth-backup\")");
  Manifest m;
  try {
    m.version = json::value_to<int>(o.at("version"));
    if (m.version > kManifestVersion)
      throw Error(ErrorKind::unsupported,
                  where + ": backup format version " + std::to_string(m.version) +
                      " was written by a newer hearth (this one reads up to " +
                      std::to_string(kManifestVersion) + "); restore it with that version");
    m.created_at = json::value_to<std::string>(o.at("created_at"));
    m.hearth_version = json::value_to<std::string>(o.at("hearth_version"));
    const json::object& db = o.at("database").as_object();
    m.database_kind = json::value_to<std::string>(db.at("kind"));
    m.database_file = json::value_to<std::string>(db.at("file"));
    m.schema_version = json::value_to<int>(db.at("schema_version"));
    for (const auto& v : o.at("files").as_array()) {
      const json::object& f = v.as_object();
      m.files.push_back({json::value_to<std::string>(f.at("path")),
                         json::value_to<std::uint64_t>(f.at("size")),
                         json::value_to<std::string>(f.at("sha256")),
                         json::value_to<unsigned>(f.at("mode"))});
    }
    m.includes_key = o.at("includes_key").as_bool();
    m.includes_models = o.at("includes_models").as_bool();
    const json::object& left = o.at("left_out").as_object();
    for (const auto& v : left.at("models").as_array()) {
      const json::object& lo = v.as_object();
      LeftOutModel model{json::value_to<std::string>(lo.at("digest")),
                         json::value_to<std::uint64_t>(lo.at("size")), {},
                         json::value_to<std::string>(lo.at("source"))};
      for (const auto& n : lo.at("names").as_array()) model.names.push_back(json::value_to<std::string>(n));
      m.left_out_models.push_back(std::move(model));
    }
    for (const auto& s : left.at("secrets").as_array())
      m.left_out_secrets.push_back(json::value_to<std::string>(s));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw bad(e.what());
  }
  if (m.database_kind != "sqlite" && m.database_kind != "postgresql")
    throw bad("unknown database kind '" + m.database_kind + "'");
  return m;
}

}  // namespace hearth::cli::backup
