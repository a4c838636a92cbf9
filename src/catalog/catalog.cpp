// Reading, checking and merging catalog files (format in catalog.h).
#include "catalog/catalog.h"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "catalog/catalog_data.h"  // generated: kBuiltinCatalogJson
#include "core/error.h"
#include "core/json_text.h"
#include "core/paths.h"

namespace hearth::catalog {
namespace {

namespace json = boost::json;

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  if (!std::isalnum(static_cast<unsigned char>(id.front()))) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
  });
}

// Reads the fields of one JSON object, naming the place of any problem.
class Fields {
 public:
  Fields(const json::value& object, std::string where) : where_(std::move(where)) {
    if (!object.is_object()) fail("must be a JSON object");
    object_ = &object.get_object();
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::corrupt_file, where_ + ": " + what);
  }
  bool has(const char* key) const {
    const json::value* v = object_->if_contains(key);
    return v != nullptr && !v->is_null();
  }
  std::string text(const char* key, std::string fallback = {}, bool required = false) const {
    if (!has(key)) {
      if (required) fail(std::string("missing \"") + key + "\"");
      return fallback;
    }
    if (!at(key).is_string()) fail(std::string("\"") + key + "\" must be a string");
    return std::string(at(key).get_string());
  }
  uint64_t number(const char* key, uint64_t fallback = 0, bool required = false) const {
    if (!has(key)) {
      if (required) fail(std::string("missing \"") + key + "\"");
      return fallback;
    }
    const json::value& v = at(key);
    if (v.is_uint64()) return v.get_uint64();
    if (!v.is_int64() || v.get_int64() < 0)
      fail(std::string("\"") + key + "\" must be a whole number of at least 0");
    return static_cast<uint64_t>(v.get_int64());
  }
  bool flag(const char* key, bool fallback = false) const {
    if (!has(key)) return fallback;
    if (!at(key).is_bool()) fail(std::string("\"") + key + "\" must be true or false");
    return at(key).get_bool();
  }
  std::vector<std::string> texts(const char* key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    if (!at(key).is_array()) fail(std::string("\"") + key + "\" must be a list of strings");
    for (const auto& v : at(key).get_array()) {
      if (!v.is_string()) fail(std::string("\"") + key + "\" must be a list of strings");
      out.emplace_back(v.get_string());
    }
    return out;
  }
  // The value of a key that has() says is there.
  const json::value& at(const char* key) const { return object_->at(key); }
  // The list under a key that has() says is there and that is an array.
  const json::array& list(const char* key) const { return at(key).get_array(); }

 private:
  const json::object* object_ = nullptr;
  std::string where_;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

hardware::GpuNeed parse_gpu_need(const Fields& f, const std::string& text) {
  using hardware::GpuNeed;
  for (GpuNeed need : {GpuNeed::none, GpuNeed::optional, GpuNeed::recommended, GpuNeed::required})
    if (text == hardware::gpu_need_name(need)) return need;
  f.fail("\"gpu\" must be none, optional, recommended or required, not \"" + text + "\"");
}

uint32_t small(const Fields& f, const char* key, uint64_t value, uint64_t min, uint64_t max) {
  if (value < min || value > max)
    f.fail(std::string("\"") + key + "\" must be from " + std::to_string(min) + " to " +
           std::to_string(max));
  return static_cast<uint32_t>(value);
}

Variant parse_variant(const json::value& j, const std::string& where) {
  Fields f(j, where);
  Variant v;
  v.tag = lower(f.text("tag", {}, true));
  if (!valid_id(v.tag)) f.fail("tag \"" + v.tag + "\" may hold only a-z, 0-9, '.', '-' and '_'");
  v.quantization = f.text("quantization", v.tag);
  v.repo = f.text("repo", {}, true);
  if (std::count(v.repo.begin(), v.repo.end(), '/') != 1 || v.repo.front() == '/' ||
      v.repo.back() == '/')
    f.fail("\"repo\" must be OWNER/NAME, not \"" + v.repo + "\"");
  v.file = f.text("file", {}, true);
  if (v.file.empty() || v.file.front() == '/' || v.file.find("..") != std::string::npos)
    f.fail("\"file\" must be a path inside the repository, not \"" + v.file + "\"");
  v.size_bytes = f.number("size_bytes", 0, true);
  if (v.size_bytes == 0) f.fail("\"size_bytes\" must be more than 0");
  v.size_estimated = f.flag("size_estimated", false);
  v.sha256 = lower(f.text("sha256"));
  if (!v.sha256.empty() && (v.sha256.size() != 64 ||
                            v.sha256.find_first_not_of("0123456789abcdef") != std::string::npos))
    f.fail("\"sha256\" must be 64 hex digits");
  return v;
}

Model parse_model(const json::value& j, const std::string& where) {
  Fields f(j, where);
  Model m;
  m.id = lower(f.text("id", {}, true));
  if (!valid_id(m.id))
    f.fail("id \"" + m.id +
           "\" must start with a letter or digit and hold only a-z, 0-9, '.', '-', '_'");
  const std::string here = where + " (\"" + m.id + "\")";
  Fields g(j, here);
  m.name = g.text("name", m.id);
  m.source_model = g.text("source_model");
  m.description = g.text("description");
  m.specialty = g.text("specialty");
  m.use_cases = g.texts("use_cases");
  m.parameters = g.number("parameters");
  m.architecture = g.text("architecture");
  m.context_length = small(g, "context_length", g.number("context_length", 0, true), 1, 1u << 24);
  m.layers = small(g, "layers", g.number("layers", 0, true), 1, 1024);
  m.heads = small(g, "heads", g.number("heads"), 0, 1024);
  m.kv_heads = small(g, "kv_heads", g.number("kv_heads", 0, true), 1, 1024);
  m.head_dim = small(g, "head_dim", g.number("head_dim", 0, true), 1, 4096);
  m.sliding_window = small(g, "sliding_window", g.number("sliding_window"), 0, 1u << 24);
  m.sliding_window_pattern =
      small(g, "sliding_window_pattern", g.number("sliding_window_pattern"), 0, 1024);
  if (m.sliding_window > 0 && m.sliding_window_pattern == 0)
    g.fail("\"sliding_window\" needs \"sliding_window_pattern\" (the period of local layers)");
  m.license = g.text("license", "unknown");
  if (g.has("requirements")) {
    Fields r(g.at("requirements"), here + " requirements");
    m.requirements.min_ram = small(r, "ram_gb", r.number("ram_gb"), 0, 65536) * hardware::kGiB;
    m.requirements.min_vram = small(r, "vram_gb", r.number("vram_gb"), 0, 65536) * hardware::kGiB;
    m.requirements.min_disk =
        small(r, "disk_gb", r.number("disk_gb"), 0, 1u << 20) * hardware::kGiB;
    m.requirements.gpu = parse_gpu_need(r, r.text("gpu", "none"));
  }
  m.quality = static_cast<int>(small(g, "quality", g.number("quality", 5), 1, 10));
  m.speed = static_cast<int>(small(g, "speed", g.number("speed", 5), 1, 10));
  m.group = g.text("group", "user");
  if (m.group != "system" && m.group != "starter" && m.group != "user")
    g.fail("\"group\" must be system, starter or user");
  m.starter = g.flag("starter");
  if (!g.has("variants") || !g.at("variants").is_array() || g.list("variants").empty())
    g.fail("needs \"variants\": a list with at least one downloadable file");
  std::set<std::string> tags;
  for (size_t i = 0; i < g.list("variants").size(); ++i) {
    Variant v = parse_variant(g.list("variants")[i], here + " variant " + std::to_string(i + 1));
    if (!tags.insert(v.tag).second) g.fail("tag \"" + v.tag + "\" appears twice");
    m.variants.push_back(std::move(v));
  }
  m.default_tag = lower(g.text("default_tag", m.variants.front().tag));
  if (m.find_variant(m.default_tag) == nullptr)
    g.fail("default_tag \"" + m.default_tag + "\" is not one of its variants");
  return m;
}

}  // namespace

const Variant* Model::find_variant(std::string_view tag) const {
  for (const auto& v : variants)
    if (v.tag == tag) return &v;
  return nullptr;
}

const Variant& Model::default_variant() const {
  const Variant* v = find_variant(default_tag);
  HEARTH_ASSERT(v != nullptr, "a catalog model's default tag names one of its variants");
  return *v;
}

hardware::ModelShape Model::shape(const Variant& variant) const {
  hardware::ModelShape s;
  s.file_bytes = variant.size_bytes;
  s.n_layer = layers;
  s.n_head_kv = kv_heads;
  s.head_dim = head_dim;
  if (sliding_window > 0) {
    // As the engine reads a period: layer % p < p - 1 is local (p = 1: none).
    for (uint32_t il = 0; il < layers; ++il)
      s.n_layer_swa += il % sliding_window_pattern < sliding_window_pattern - 1 ? 1 : 0;
    s.swa_window = sliding_window;
  }
  return s;
}

Catalog Catalog::parse(std::string_view json_text, const std::string& source) {
  std::string error;
  const std::optional<json::value> doc = parse_json(json_text, &error);
  if (!doc) throw Error(ErrorKind::corrupt_file, source + ": not valid JSON (" + error + ")");
  Fields top(*doc, source);
  const uint64_t version = top.number("version", 1);
  if (version != 1)
    top.fail("catalog version " + std::to_string(version) + " is newer than this hearth reads (1)");
  if (!top.has("models") || !top.at("models").is_array())
    top.fail("needs \"models\": a list of models");
  Catalog catalog;
  std::set<std::string> ids;
  for (size_t i = 0; i < top.list("models").size(); ++i) {
    Model m = parse_model(top.list("models")[i], source + ": model " + std::to_string(i + 1));
    if (!ids.insert(m.id).second) top.fail("model id \"" + m.id + "\" appears twice");
    catalog.models_.push_back(std::move(m));
  }
  return catalog;
}

Catalog Catalog::builtin() {
  static const Catalog catalog = parse(kBuiltinCatalogJson, "built-in catalog");
  return catalog;
}

Catalog Catalog::load(const std::filesystem::path& user_file) {
  Catalog catalog = builtin();
  std::error_code ec;
  if (!std::filesystem::exists(user_file, ec)) return catalog;
  std::ifstream in(user_file, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, user_file.string() + ": cannot read the user catalog file");
  std::ostringstream text;
  text << in.rdbuf();
  catalog.merge(parse(text.str(), user_file.string()));
  return catalog;
}

Catalog Catalog::load() {
  std::filesystem::path home;
  try {
    home = paths::home();
  } catch (const Error&) {
    return builtin();  // no place for a user file
  }
  return load(home / "catalog.json");
}

void Catalog::merge(const Catalog& other) {
  for (const Model& m : other.models_) {
    auto it = std::find_if(models_.begin(), models_.end(),
                           [&](const Model& have) { return have.id == m.id; });
    if (it != models_.end())
      *it = m;
    else
      models_.push_back(m);
  }
}

const Model* Catalog::find(std::string_view id) const {
  for (const auto& m : models_)
    if (m.id == id) return &m;
  return nullptr;
}

const Model& Catalog::starter() const {
  for (const auto& m : models_)
    if (m.starter) return m;
  HEARTH_ASSERT(false, "the catalog flags a starter model");
}

}  // namespace hearth::catalog
