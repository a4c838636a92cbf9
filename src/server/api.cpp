// The whole API: public routes, the route groups, authentication and /metrics (see api.h).
#include "server/api.h"

#include <cstdio>
#include <filesystem>

#include "server/json_util.h"

namespace hearth::server {
namespace {

// Prometheus text exposition format, version 0.0.4.
void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            double value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
  out += name;
  out += ' ';
  char text[32];
  std::snprintf(text, sizeof text, "%.15g", value);  // counters print as plain integers
  out += text;
  out += '\n';
}

std::string label_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

Response metrics(ApiContext& api) {
  const SchedulerStats s = api.scheduler.stats();
  std::string out;
  metric(out, "hearth_http_requests_total", "counter", "HTTP requests answered.",
         static_cast<double>(api.counters.requests.load()));
  metric(out, "hearth_http_errors_total", "counter", "HTTP requests answered with a status of 400 or more.",
         static_cast<double>(api.counters.errors.load()));
  metric(out, "hearth_inference_requests_total", "counter", "Generation and embedding requests queued.",
         static_cast<double>(s.requests_total));
  metric(out, "hearth_inference_rejected_total", "counter", "Requests refused because the queue was full.",
         static_cast<double>(s.requests_rejected));
  metric(out, "hearth_prompt_tokens_total", "counter", "Prompt tokens processed.",
         static_cast<double>(s.prompt_tokens_total));
  metric(out, "hearth_generated_tokens_total", "counter", "Tokens generated.",
         static_cast<double>(s.completion_tokens_total));
  metric(out, "hearth_queue_depth", "gauge", "Requests waiting for a sequence slot.", s.queue_depth);
  metric(out, "hearth_active_sequences", "gauge", "Sequences being decoded now.", s.active_sequences);
  metric(out, "hearth_loaded_models", "gauge", "Models loaded in memory.", s.loaded_models);
  metric(out, "hearth_tokens_per_second", "gauge", "Generation speed over the last few seconds, all models.",
         s.tokens_per_second);
  out += "# HELP hearth_model_loaded_bytes Memory held by a loaded model (weights and KV cache).\n";
  out += "# TYPE hearth_model_loaded_bytes gauge\n";
  // Labelled by the weights' digest, not a name: names belong to users, and every caller of
  // /metrics may read this.
  for (const auto& m : api.scheduler.loaded()) {
    std::string digest = std::filesystem::path(m.model_path).filename().string();
    if (digest.rfind("sha256-", 0) == 0) digest = digest.substr(7, 12);
    out += "hearth_model_loaded_bytes{digest=\"" + label_escape(digest) + "\"} " +
           std::to_string(m.size_bytes) + "\n";
  }
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(out);
  return r;
}

}  // namespace

void add_metrics_route(Router& router, ApiContext& api) {
  router.add("GET", "/metrics", [&api](const Request&) { return metrics(api); });
}

Router make_api_router(ApiContext& api) {
  Router router;
  add_web_routes(router);
  router.add(
      "GET", "/api/version",
      [](const Request&) { return json_response(json::object{{"version", HEARTH_VERSION}}); }, true);
  // Who the page's token belongs to, and whether this server asks for one. Public, so that a
  // page without a token learns that it must ask for one without a 401: {"auth_required": true,
  // "username": null}. A token that is sent is checked (401 when refused).
  router.add(
      "GET", "/api/me",
      [&api](const Request& r) {
        const bool required = api.auth.required();
        if (required && r.header("authorization").empty())
          return json_response(json::object{{"username", nullptr}, {"auth_required", true}});
        const Caller caller = api.auth.authenticate(r.header("authorization"), r.client_address);
        return json_response(
            json::object{{"username", caller.username}, {"auth_required", required}});
      },
      true);
  add_library_routes(router, api);
  add_create_routes(router, api);
  add_personal_routes(router, api);
  add_openai_routes(router, api);
  add_ollama_routes(router, api);
  add_metrics_route(router, api);
  add_conversation_routes(router, api);
  add_training_routes(router, api);
  add_files_routes(router, api);
  add_remote_training_routes(router, api);
  add_fine_tuning_routes(router, api);
  add_desktop_routes(router, api);
  router.set_authenticate(
      [&api](const Request& r) { return api.auth.authenticate(r.header("authorization"), r.client_address); });
  router.set_observer([&api](const Request&, const Response& r) {
    api.counters.requests.fetch_add(1, std::memory_order_relaxed);
    if (!r.stream && r.status >= 400) api.counters.errors.fetch_add(1, std::memory_order_relaxed);
  });
  return router;
}

}  // namespace hearth::server
