// The system's own library routes, each scoped to the caller:
//   GET    /api/personal-models                the caller's rows
//   POST   /api/personal-models/download       {"model_id", "custom_name"?, "force"?} -> 202 + row;
//                                              the pull runs on a background thread
//   PUT    /api/personal-models/{id}           {"custom_name"?, "parameters"?} -> row
//   DELETE /api/personal-models/{id}           -> {"id", "deleted": true}
//   GET    /api/personal-models/{id}/status    -> {id, status, download_progress, error}
//   GET    /api/catalog[?ctx=N]                catalog entries with fit verdicts for this machine
//   GET    /api/hardware                       hardware::probe() as JSON (`hearth hw --json`)
//   GET    /api/desktop/models                 the caller's installed models, compactly
// Another user's row answers 404 exactly as a missing one.
#include <charconv>
#include <chrono>
#include <mutex>

#include "catalog/catalog.h"
#include "hardware/hardware.h"
#include "core/log.h"
#include "server/api.h"
#include "server/desktop_hub.h"
#include "server/routing.h"
#include "server/json_util.h"
#include "server/library_json.h"

namespace hearth::server {
namespace {

// Probing reads /proc, /sys and NVML: cached briefly so that a dashboard polling the catalog
// does not repeat it for every request.
hardware::MachineInfo machine() {
  static std::mutex mutex;
  static std::optional<hardware::MachineInfo> cached;
  static std::chrono::steady_clock::time_point at;
  std::lock_guard lock(mutex);
  const auto now = std::chrono::steady_clock::now();
  if (!cached || now - at > std::chrono::seconds(5)) {
    cached = hardware::probe();
    at = now;
  }
  return *cached;
}

json::value from_text(const std::string& json_text) { return json::parse(json_text); }

std::int64_t row_id(const Request& request) {
  const std::string_view text = request.param("id");
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0)
    throw Error(ErrorKind::invalid_input,
                "personal model id '" + std::string(text) + "' must be a positive integer");
  return id;
}

json::object row_json(ApiContext& api, std::int64_t user_id, const db::PersonalModel& row) {
  const std::string error = row.status == db::ModelStatus::failed
                                ? api.library.failure_message(user_id, row.custom_name)
                                : std::string();
  json::object o = personal_model_json(row, error);
  // Token counts and speed from the usage totals (db::ModelUsage), kept per user and model.
  json::object usage{{"requests", 0}, {"prompt_tokens", 0}, {"completion_tokens", 0},
                     {"average_tokens_per_second", nullptr}};
  try {
    if (auto u = db::ModelUsage(api.db).get(user_id, row.custom_name)) {
      usage["requests"] = u->requests;
      usage["prompt_tokens"] = u->prompt_tokens;
      usage["completion_tokens"] = u->completion_tokens;
      if (u->eval_ns > 0)
        usage["average_tokens_per_second"] =
            static_cast<double>(u->completion_tokens) * 1e9 / static_cast<double>(u->eval_ns);
    }
  } catch (const std::exception& e) {
    SPDLOG_WARN("usage of {} unreadable: {}", row.custom_name, e.what());
  }
  o["usage"] = std::move(usage);
  return o;
}

Response list_rows(ApiContext& api, const Request& request) {
  const std::int64_t user = request.caller.user_id;
  json::array models;
  for (const auto& row : api.library.rows(user)) models.emplace_back(row_json(api, user, row));
  return json_response(json::object{{"models", std::move(models)}});
}

Response download(ApiContext& api, const Request& request) {
  const json::object body = parse_body_object(request.body);
  library::PullSettings settings;
  settings.name = opt_string(body, "custom_name").value_or("");
  settings.force = opt_bool(body, "force").value_or(false);
  const std::int64_t user = request.caller.user_id;
  const db::PersonalModel row =
      api.library.start_download(user, req_string(body, "model_id"), settings);
  return json_response(row_json(api, user, row), 202);
}

Response update(ApiContext& api, const Request& request) {
  const json::object body = parse_body_object(request.body);
  const auto custom_name = opt_string(body, "custom_name");
  std::optional<api::Options> parameters;
  if (const json::object* p = opt_object(body, "parameters"))
    parameters = api::read_options(*p, api::UnknownOptions::refuse);
  if (!custom_name && !parameters)
    throw Error(ErrorKind::invalid_input, "nothing to change: give 'custom_name' or 'parameters'");
  const std::int64_t user = request.caller.user_id;
  const db::PersonalModel row = api.library.update(user, row_id(request), custom_name, parameters);
  return json_response(row_json(api, user, row));
}

Response remove(ApiContext& api, const Request& request) {
  const std::int64_t id = row_id(request);
  api.library.remove_row(request.caller.user_id, id);
  return json_response(json::object{{"id", id}, {"deleted", true}});
}

Response status(ApiContext& api, const Request& request) {
  const std::int64_t user = request.caller.user_id;
  const db::PersonalModel row = api.library.row(user, row_id(request));
  const json::object full = row_json(api, user, row);
  return json_response(json::object{{"id", row.id},
                                    {"status", full.at("status")},
                                    {"download_progress", row.download_progress},
                                    {"error", full.at("error")}});
}

// The machine as the API shows it: without the folder whose free space was measured (a path
// of the server's disk).
json::value machine_json(const hardware::MachineInfo& m) {
  json::value v = from_text(hardware::to_json(m));
  if (v.is_object()) v.as_object().erase("disk_path");
  return v;
}

json::object fit_json(const catalog::ModelFit& f, bool installed) {
  const auto& m = *f.model;
  json::array use_cases;
  for (const auto& u : m.use_cases) use_cases.emplace_back(u);
  json::array reasons;
  for (const auto& r : f.fit.reasons) reasons.emplace_back(public_message(r));
  json::array tags;
  for (const auto& v : m.variants)
    tags.emplace_back(json::object{{"tag", v.tag},
                                   {"quantization", v.quantization},
                                   {"size_bytes", v.size_bytes},
                                   {"size_estimated", v.size_estimated}});
  return json::object{
      {"id", m.id},
      {"name", m.name},
      {"description", m.description},
      {"specialty", m.specialty},
      {"use_cases", std::move(use_cases)},
      {"parameters", m.parameters},
      {"architecture", m.architecture},
      {"context_length", m.context_length},
      {"license", m.license},
      {"quality", m.quality},
      {"speed", m.speed},
      {"group", m.group},
      {"starter", m.starter},
      {"tag", f.variant->tag},
      {"size_bytes", f.variant->size_bytes},
      {"size_estimated", f.variant->size_estimated},
      {"context_assumed", f.n_ctx},
      {"verdict", hardware::verdict_name(f.fit.verdict)},
      {"fits", hardware::fits(f.fit.verdict)},
      {"reasons", std::move(reasons)},
      {"memory_bytes", f.fit.memory.total},
      {"variants", std::move(tags)},
      {"installed", installed}};
}

Response catalog_route(ApiContext& api, const Request& request) {
  uint32_t n_ctx = catalog::kDefaultContext;
  if (const std::string text = request.query("ctx"); !text.empty()) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n_ctx);
    if (ec != std::errc() || end != text.data() + text.size() || n_ctx < 256 || n_ctx > (1u << 20))
      throw Error(ErrorKind::invalid_input, "ctx must be a number from 256 to 1048576");
  }
  const catalog::Catalog cat = catalog::Catalog::load();
  const hardware::MachineInfo m = machine();
  const auto fits = catalog::assess_all(m, cat, n_ctx);
  std::vector<std::string> installed_ids;
  for (const auto& row : api.library.rows(request.caller.user_id))
    if (row.status == db::ModelStatus::installed) installed_ids.push_back(row.model_id);
  json::array models;
  for (const auto& f : fits) {
    const bool installed = std::find(installed_ids.begin(), installed_ids.end(), f.model->id) !=
                           installed_ids.end();
    models.emplace_back(fit_json(f, installed));
  }
  json::array recommendations;
  for (const auto& r : catalog::recommend(fits))
    recommendations.emplace_back(json::object{
        {"use_case", r.use_case},
        {"model", r.choice ? json::value(json::string(r.choice->model->id)) : json::value(nullptr)}});
  return json_response(json::object{{"context_length", n_ctx},
                                    {"machine", machine_json(m)},
                                    {"models", std::move(models)},
                                    {"recommendations", std::move(recommendations)}});
}

Response desktop_models(ApiContext& api, const Request& request) {
  json::array models;
  for (const auto& m : api.library.list(request.caller.user_id)) {
    const api::ModelDetails d = model_details(api.store, m);
    models.emplace_back(json::object{{"name", m.full_name()},
                                     {"size", m.total_size()},
                                     {"family", d.family},
                                     {"parameter_size", d.parameter_size},
                                     {"quantization", d.quantization_level},
                                     {"where", "hub"}});
  }
  // Where else the caller's chats may run (routing.h): their agents' models and remote engines.
  const std::int64_t user = request.caller.user_id;
  if (api.desktops != nullptr)
    for (auto& m : api.desktops->models(user)) models.emplace_back(std::move(m));
  if (api.remotes != nullptr)
    for (auto& m : api.remotes->models(user)) models.emplace_back(std::move(m));
  return json_response(json::object{{"models", std::move(models)}});
}

}  // namespace

void add_personal_routes(Router& router, ApiContext& api) {
  router.add("GET", "/api/personal-models", [&api](const Request& r) { return list_rows(api, r); });
  router.add("POST", "/api/personal-models/download",
             [&api](const Request& r) { return download(api, r); });
  router.add("PUT", "/api/personal-models/{id}", [&api](const Request& r) { return update(api, r); });
  router.add("DELETE", "/api/personal-models/{id}",
             [&api](const Request& r) { return remove(api, r); });
  router.add("GET", "/api/personal-models/{id}/status",
             [&api](const Request& r) { return status(api, r); });
  router.add("GET", "/api/catalog", [&api](const Request& r) { return catalog_route(api, r); });
  router.add("GET", "/api/hardware",
             [](const Request&) { return json_response(machine_json(machine())); });
  router.add("GET", "/api/desktop/models",
             [&api](const Request& r) { return desktop_models(api, r); });
}

}  // namespace hearth::server
