// The installed models: `hearth list`, `hearth show NAME [--json]`, `hearth rm NAME...`,
// `hearth cp SRC DST` and `hearth ps` (what a running server has loaded).
//
// Each acts on the names of the machine's owner, or of the server's user given by `--user NAME`
// (names are each user's own: store/store.h); `list --all` shows every user's.
// list prints NAME, ID (the first 12 hex digits of the weights' digest), SIZE and MODIFIED like
// Ollama's, then a note for every model whose post-pull check failed. show takes an installed
// name or a GGUF path. rm removes the manifests, every blob no other manifest uses and the
// database rows. ps asks the server at HEARTH_HOST for GET /api/ps.
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/model_resolve.h"
#include "core/config.h"
#include "core/error.h"
#include "core/json_text.h"
#include "core/log.h"
#include "engine/chat/chat_template.h"
#include "engine/gguf/gguf.h"
#include "engine/gguf/tensor_type.h"
#include "engine/model/arch.h"
#include "engine/quantize/recipe.h"
#include "library/installed.h"
#include "library/library_db.h"
#include "store/progress.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// "2025-06-01T12:00:00Z" (fraction optional) → seconds since the epoch; -1 when unreadable.
std::int64_t parse_iso_time(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(::timegm(&tm));
}

// Ollama's style: "Less than a second ago", "About a minute ago", "5 minutes ago", "2 days ago".
std::string ago(const std::string& iso) {
  const std::int64_t then = parse_iso_time(iso);
  if (then < 0) return iso.empty() ? "unknown" : iso;
  const std::int64_t s = std::max<std::int64_t>(0, std::time(nullptr) - then);
  auto plural = [](std::int64_t n, const char* unit) {
    return std::to_string(n) + " " + unit + (n == 1 ? "" : "s") + " ago";
  };
  if (s < 1) return "Less than a second ago";
  if (s < 60) return plural(s, "second");
  if (s < 120) return "About a minute ago";
  if (s < 3600) return plural(s / 60, "minute");
  if (s < 7200) return "About an hour ago";
  if (s < 86400) return plural(s / 3600, "hour");
  if (s < 14 * 86400) return plural(s / 86400, "day");
  if (s < 60 * 86400) return plural(s / (7 * 86400), "week");
  if (s < 730 * 86400) return plural(s / (30 * 86400), "month");
  return plural(s / (365 * 86400), "year");
}

std::string short_id(const store::Manifest& m) {
  for (const auto& b : m.blobs)
    if (b.media_type == "model") return store::digest_hex(b.digest).substr(0, 12);
  return m.blobs.empty() ? "-" : store::digest_hex(m.blobs.front().digest).substr(0, 12);
}

std::string human_count(uint64_t n) {
  char buf[32];
  if (n >= 1'000'000'000)
    std::snprintf(buf, sizeof buf, "%.2fB", static_cast<double>(n) / 1e9);
  else if (n >= 1'000'000)
    std::snprintf(buf, sizeof buf, "%.2fM", static_cast<double>(n) / 1e6);
  else if (n >= 1'000)
    std::snprintf(buf, sizeof buf, "%.2fK", static_cast<double>(n) / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%" PRIu64, n);
  return buf;
}

// --- list ----------------------------------------------------------------------------------

// `hearth list --all`: every user's names, with whose they are (the owner's first).
void list_every_user() {
  store::Store store = library::open_cli_store();
  std::map<std::string, std::string> owners{{"", "local"}};
  try {
    const db::Database db = db::Database::open(config::get("HEARTH_DB"));
    for (const auto& user : db::Users(db).list()) owners[std::to_string(user.id)] = user.username;
  } catch (const std::exception& e) {
    spdlog::warn("database: cannot read user names: {}", e.what());
  }
  std::printf("%-16s %-40s %-14s %-10s %s\n", "USER", "NAME", "ID", "SIZE", "MODIFIED");
  for (const auto& [space, m] : store.list_every_space()) {
    const auto owner = owners.find(space);
    const std::string who = owner != owners.end() ? owner->second : "user " + space;
    std::printf("%-16s %-40s %-14s %-10s %s\n", who.c_str(), m.full_name().c_str(),
                short_id(m).c_str(), store::format_bytes(m.total_size()).c_str(),
                ago(m.created_at).c_str());
  }
}

void list_models(bool every_user) {
  if (every_user) return list_every_user();
  store::Store store = library::open_cli_store();
  auto models = store.list();
  std::printf("%-40s %-14s %-10s %s\n", "NAME", "ID", "SIZE", "MODIFIED");
  std::vector<std::string> notes;
  std::optional<library::LibraryDb> library;
  try {
    if (!models.empty()) library.emplace();
  } catch (const std::exception& e) {
    spdlog::warn("database: cannot read model statuses: {}", e.what());
  }
  for (const auto& m : models) {
    std::printf("%-40s %-14s %-10s %s\n", m.full_name().c_str(), short_id(m).c_str(),
                store::format_bytes(m.total_size()).c_str(), ago(m.created_at).c_str());
    if (!library) continue;
    try {
      auto row = library->find(m.full_name());
      if (row && row->status != db::ModelStatus::installed) {
        std::string why = library::local_failure_message(m.full_name());
        notes.push_back(m.full_name() + " is " + std::string(db::to_string(row->status)) +
                        (why.empty() ? "" : ": " + why));
      }
    } catch (const std::exception& e) {
      spdlog::warn("database: cannot read the status of {}: {}", m.full_name(), e.what());
    }
  }
  if (!notes.empty()) std::printf("\n");
  for (const auto& n : notes) std::printf("note: %s\n", n.c_str());
}

// --- show ----------------------------------------------------------------------------------

struct ModelFacts {
  std::string architecture, name, quantization, template_format, chat_template_source;
  uint64_t parameters = 0;
  int64_t context_length = 0, embedding_length = 0, block_count = 0, head_count = 0,
          head_count_kv = 0;
  uint64_t file_size = 0;
  uint32_t gguf_version = 0;
  size_t tensor_count = 0;
};

std::string quantization_of(const gguf::File& file) {
  if (auto ft = file.get_int("general.file_type")) {
    for (const auto& p : quantize::presets())
      if (p.file_type == *ft) return std::string(p.name);
    if (*ft == 0) return "F32";
    if (*ft == 1) return "F16";
  }
  // No (known) file type: the type holding most of the weights.
  std::map<std::string, uint64_t> bytes;
  for (const auto& t : file.tensors())
    bytes[std::string(gguf::tensor_type_name(t.type))] += static_cast<uint64_t>(t.n_elements());
  std::string best = "unknown";
  uint64_t most = 0;
  for (const auto& [type, n] : bytes)
    if (n > most) best = type, most = n;
  return best;
}

ModelFacts read_facts(const fs::path& path) {
  gguf::File file = gguf::File::open(path);
  ModelFacts f;
  f.architecture = file.get_string("general.architecture").value_or("unknown");
  f.name = file.get_string("general.name").value_or("");
  for (const auto& t : file.tensors()) f.parameters += static_cast<uint64_t>(t.n_elements());
  f.quantization = quantization_of(file);
  const model::Hparams shape = model::describe(file, model::DescribeMode::as_stored);
  f.context_length = shape.n_ctx_train;
  f.embedding_length = shape.n_embd;
  f.block_count = shape.n_layer;
  f.head_count = shape.n_head;
  f.head_count_kv = shape.n_head_kv;
  f.file_size = file.file_size();
  f.gguf_version = file.version();
  f.tensor_count = file.tensors().size();
  const gguf::Value* tmpl = file.find("tokenizer.chat_template");
  if (tmpl == nullptr) {
    f.template_format = std::string(chat::chat_format_name(chat::ChatFormat::chatml));
    f.chat_template_source = "no template in the file; chatml assumed";
  } else {
    auto text = file.get_string("tokenizer.chat_template");
    bool recognised = false;
    auto format = chat::detect_chat_format(text.value_or(""), &recognised);
    f.template_format = std::string(chat::chat_format_name(format));
    f.chat_template_source =
        recognised ? "from the model's chat template" : "unrecognised template; chatml assumed";
  }
  return f;
}

json::object facts_json(const ModelFacts& f) {
  return {{"architecture", f.architecture},
          {"general_name", f.name},
          {"parameters", f.parameters},
          {"parameters_text", human_count(f.parameters)},
          {"quantization", f.quantization},
          {"context_length", f.context_length},
          {"embedding_length", f.embedding_length},
          {"block_count", f.block_count},
          {"head_count", f.head_count},
          {"head_count_kv", f.head_count_kv},
          {"template_format", f.template_format},
          {"template_source", f.chat_template_source},
          {"file_size", f.file_size},
          {"gguf_version", f.gguf_version},
          {"tensor_count", f.tensor_count}};
}

json::object row_json(const db::PersonalModel& row, const std::string& full_name) {
  json::object j = {
      {"status", db::to_string(row.status)},
      {"download_progress", row.download_progress},
      {"performance_score", row.performance_score ? json::value(*row.performance_score) : json::value(nullptr)},
      {"usage_count", row.usage_count},
      {"model_id", row.model_id},
      {"local_path", row.local_path},
      {"model_size_gb", row.model_size_gb},
      {"fine_tuned", row.fine_tuned},
      {"created_at", db::format_time(row.created_at)},
      {"updated_at", db::format_time(row.updated_at)}};
  std::string why = library::local_failure_message(full_name);
  if (!why.empty()) j["error"] = why;
  return j;
}

void show_model(const std::string& text, bool as_json) {
  ResolvedModel r = resolve_model(text);
  ModelFacts facts = read_facts(r.path);
  std::optional<db::PersonalModel> row;
  if (r.manifest) row = library::try_find_row(r.manifest->full_name());

  if (as_json) {
    json::object out = {
        {"name", r.display_name}, {"path", r.path.string()}, {"model", facts_json(facts)}};
    if (r.manifest) out["manifest"] = store::manifest_to_json(*r.manifest);
    out["database"] = row ? json::value(row_json(*row, r.manifest->full_name())) : json::value(nullptr);
    std::printf("%s\n", format_json(out, 2).c_str());
    return;
  }
  auto line = [](const char* key, const std::string& value) {
    std::printf("    %-18s %s\n", key, value.c_str());
  };
  std::printf("  Model\n");
  line("name", r.display_name);
  line("architecture", facts.architecture);
  line("parameters", human_count(facts.parameters));
  line("quantization", facts.quantization);
  line("context length", std::to_string(facts.context_length));
  line("embedding length", std::to_string(facts.embedding_length));
  line("layers", std::to_string(facts.block_count));
  line("template format", facts.template_format + " (" + facts.chat_template_source + ")");
  if (!facts.name.empty()) line("general.name", facts.name);
  line("file", r.path.string());
  line("size", store::format_bytes(facts.file_size));
  if (r.manifest) {
    const auto& m = *r.manifest;
    std::printf("\n  Manifest\n");
    for (const auto& b : m.blobs)
      line(b.media_type == "model" ? "weights" : b.media_type.c_str(),
           b.digest + " (" + store::format_bytes(b.size) + ")");
    line("source", m.source.empty() ? "-" : m.source);
    line("lineage", m.base_model.empty() ? "-" : "fine-tuned from " + m.base_model);
    line("created", m.created_at);
    if (!m.parameters.empty()) line("parameters", format_json(api::to_json(m.parameters)));
    if (!m.template_text.empty())
      line("template", "custom (" + std::to_string(m.template_text.size()) + " characters)");
    std::printf("\n  Status\n");
    if (!row) {
      line("database", "no record");
    } else {
      line("status", std::string(db::to_string(row->status)));
      if (row->performance_score) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1f tokens/s", *row->performance_score);
        line("performance", buf);
      }
      line("used", std::to_string(row->usage_count) + " times");
      if (auto why = library::local_failure_message(m.full_name()); !why.empty()) line("error", why);
    }
  }
}

// --- rm and cp -----------------------------------------------------------------------------

void remove_models(const std::vector<std::string>& names) {
  store::Store store = library::open_cli_store();
  std::optional<Error> first_error;
  for (const auto& text : names) {
    try {
      const library::Removal removed = library::remove_installed(store, text);
      if (removed.unfinished)
        std::printf("deleted '%s' (its pull had not finished)\n", removed.full_name.c_str());
      else
        std::printf("deleted '%s'\n", removed.full_name.c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "hearth: %s\n", e.what());
      if (!first_error) first_error = e;
    }
  }
  if (first_error) throw ExitStatus{first_error->kind() == ErrorKind::not_found ? 3 : 1};
}

void copy_model(const std::string& src, const std::string& dst) {
  store::Store store = library::open_cli_store();
  const library::Copied copied = library::copy_installed(store, src, dst);
  std::printf("copied '%s' to '%s'\n", copied.from.c_str(), copied.to.c_str());
}

// --- ps ------------------------------------------------------------------------------------

void show_running() {
  const std::vector<api::RunningModel> models = ApiClient().running_models();
  std::printf("%-40s %-14s %-10s %-12s %s\n", "NAME", "ID", "SIZE", "PROCESSOR", "UNTIL");
  for (const auto& m : models) {
    std::string digest = m.digest;
    if (auto colon = digest.find(':'); colon != std::string::npos) digest = digest.substr(colon + 1);
    std::string processor = "100% CPU";
    if (m.size > 0 && m.size_vram > 0) {
      const int gpu = static_cast<int>(
          std::lround(100.0 * static_cast<double>(m.size_vram) / static_cast<double>(m.size)));
      processor = gpu >= 100 ? "100% GPU"
                             : std::to_string(100 - gpu) + "%/" + std::to_string(gpu) + "% CPU/GPU";
    }
    std::string until = m.expires_at.empty() ? "-" : m.expires_at;
    if (const std::int64_t t = parse_iso_time(until); t >= 0) {
      const std::int64_t left = t - std::time(nullptr);
      until = left <= 0   ? "now"
              : left < 60 ? std::to_string(left) + " seconds from now"
                          : std::to_string(left / 60) + " minutes from now";
    }
    std::printf("%-40s %-14s %-10s %-12s %s\n", m.name.c_str(), digest.substr(0, 12).c_str(),
                store::format_bytes(m.size).c_str(), processor.c_str(), until.c_str());
  }
}

}  // namespace

void register_library(CLI::App& app) {
  static bool list_all = false;
  auto* list = app.add_subcommand("list", "list the installed models")->alias("ls");
  list->add_flag("--all", list_all, "every user's models, with whose they are");
  add_user_option(list);
  list->callback([] { list_models(list_all); });

  static std::string show_name;
  static bool show_json = false;
  auto* show = app.add_subcommand("show", "show an installed model (or a GGUF file)");
  show->add_option("model", show_name, "installed model name[:tag] or GGUF file")->required();
  show->add_flag("--json", show_json, "print one JSON object");
  add_user_option(show);
  show->callback([] { show_model(show_name, show_json); });

  static std::vector<std::string> rm_names;
  auto* rm =
      app.add_subcommand("rm", "remove installed models (and the files no other model uses)");
  rm->add_option("model", rm_names, "installed model names")->required();
  add_user_option(rm);
  rm->callback([] { remove_models(rm_names); });

  static std::string cp_src, cp_dst;
  auto* cp = app.add_subcommand("cp", "install a model under another name (the files are shared)");
  cp->add_option("source", cp_src, "installed model name[:tag]")->required();
  cp->add_option("destination", cp_dst, "new name[:tag]")->required();
  add_user_option(cp);
  cp->callback([] { copy_model(cp_src, cp_dst); });

  app.add_subcommand("ps", "list the models a running hearth server has loaded")
      ->callback(show_running);
}

}  // namespace hearth::cli
