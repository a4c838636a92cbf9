// Ollama's and OpenAI's model-library routes, each scoped to the caller (library/library.h):
// GET /api/tags, GET /v1/models, GET /v1/models/{model}, POST /api/show, GET /api/ps,
// POST /api/pull, DELETE /api/delete, POST /api/copy.
//
// /api/copy follows Ollama: a destination the caller already has is replaced (names are each
// user's own: library/library.h). /api/pull streams NDJSON progress from its own thread, the
// post-pull check ("checking the model") included; the response starts only once the reference,
// the name and the fit have been checked, so those errors still come back as a plain {"error"}
// with a 4xx/5xx status.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <exception>
#include <filesystem>
#include <set>

#include "core/log.h"
#include "engine/gguf/gguf.h"
#include "server/api.h"
#include "server/json_util.h"
#include "server/routing.h"
#include "server/library_json.h"
#include "server/response_stream.h"

namespace hearth::server {
namespace {

// "2025-06-01T12:00:00Z" (fraction optional) -> seconds since the epoch; 0 when unreadable.
std::int64_t parse_iso_time(const std::string& text) {
  std::tm tm{};
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(::timegm(&tm));
}

// Ollama's clients send the model as "model" (newer) or "name" (older).
using api::model_field;

// A path parameter with %XX escapes decoded ("me%2Fmodel:tag" names "me/model:tag").
std::string decoded_param(const Request& request, std::string_view name) {
  const std::string_view raw = request.param(name);
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size()) {
      unsigned value = 0;
      if (std::sscanf(std::string(raw.substr(i + 1, 2)).c_str(), "%2x", &value) == 1) {
        out += static_cast<char>(value);
        i += 2;
        continue;
      }
    }
    out += raw[i];
  }
  return out;
}

Response tags(ApiContext& api, const Request& request) {
  json::array models;
  for (const auto& m : api.library.list(request.caller.user_id)) {
    const store::BlobRef* blob = model_blob(m);
    json::object o;
    o["name"] = m.full_name();
    o["model"] = m.full_name();
    o["modified_at"] = m.created_at;
    o["size"] = m.total_size();
    o["digest"] = blob ? std::string(digest_hex(blob->digest)) : std::string();
    o["details"] = api::to_json(model_details(api.store, m));
    models.emplace_back(std::move(o));
  }
  // Models the caller's chats are routed to (a desktop agent, a remote engine), after their own.
  std::set<std::string> here;
  for (const auto& m : models) here.insert(std::string(m.as_object().at("name").as_string()));
  for (const auto& v : routed_models(api, request)) {
    const json::object& r = v.as_object();
    const std::string name(r.at("name").as_string());
    if (here.count(name)) continue;
    const std::string digest = r.contains("digest") && r.at("digest").is_string()
                                   ? std::string(r.at("digest").as_string())
                                   : std::string();
    json::object o{{"name", name},
                   {"model", name},
                   {"modified_at", ""},
                   {"size", r.contains("size") ? r.at("size") : json::value(0)},
                   {"digest", std::string(digest_hex(digest))},
                   {"details", json::object{{"format", "gguf"},
                                            {"family", r.contains("family") ? r.at("family")
                                                                            : json::value("")}}},
                   {"hearth", json::object{{"where", r.at("where")}}}};
    models.emplace_back(std::move(o));
  }
  return json_response(json::object{{"models", std::move(models)}});
}

json::object openai_model(const store::Manifest& m) {
  return json::object{{"id", m.full_name()},
                      {"object", "model"},
                      {"created", parse_iso_time(m.created_at)},
                      {"owned_by", "hearth"}};
}

Response openai_models(ApiContext& api, const Request& request) {
  json::array data;
  std::set<std::string> here;
  for (const auto& m : api.library.list(request.caller.user_id)) {
    here.insert(m.full_name());
    data.emplace_back(openai_model(m));
  }
  // Models the caller's chats are routed to, owned by the desktop or remote that has them.
  for (const auto& v : routed_models(api, request)) {
    const json::object& r = v.as_object();
    const std::string name(r.at("name").as_string());
    if (!here.insert(name).second) continue;
    std::string owner = "remote";
    if (const auto* agent = r.if_contains("agent"); agent && agent->is_object())
      owner = "desktop:" + std::string(agent->as_object().at("name").as_string());
    else if (const auto* remote = r.if_contains("remote"); remote && remote->is_string())
      owner = "remote:" + std::string(remote->as_string());
    data.emplace_back(json::object{
        {"id", name}, {"object", "model"}, {"created", 0}, {"owned_by", owner}});
  }
  return json_response(json::object{{"object", "list"}, {"data", std::move(data)}});
}

// A GGUF metadata value as JSON; nullopt for what /api/show leaves out (big arrays such as the
// tokenizer's vocabulary).
std::optional<json::value> metadata_json(const gguf::Value& v) {
  using T = gguf::ValueType;
  switch (v.type) {
    case T::string: return json::value(json::string(v.s));
    case T::boolean: return json::value(v.u != 0);
    case T::f32:
    case T::f64: return json::value(v.f);
    case T::i8:
    case T::i16:
    case T::i32:
    case T::i64: return json::value(v.i);
    case T::array: {
      if (v.items.size() > 64) return std::nullopt;
      json::array a;
      for (const auto& item : v.items)
        if (auto j = metadata_json(item)) a.push_back(std::move(*j));
      return json::value(std::move(a));
    }
    default: return json::value(v.u);
  }
}

Response show(ApiContext& api, const Request& request) {
  const json::object body = parse_body_object(request.body);
  const library::ResolvedModel r = api.library.resolve(request.caller.user_id, model_field(body));
  const gguf::File file = gguf::File::open(r.model_path);
  json::object info;
  std::uint64_t parameters = 0;
  for (const auto& t : file.tensors()) parameters += static_cast<std::uint64_t>(t.n_elements());
  for (const auto& [key, value] : file.metadata()) {
    if (key == "tokenizer.chat_template") continue;  // it is "template"
    if (auto j = metadata_json(value)) info[key] = std::move(*j);
  }
  if (!info.contains("general.parameter_count")) info["general.parameter_count"] = parameters;
  std::string tmpl = r.manifest.template_text;
  if (tmpl.empty()) tmpl = file.get_string("tokenizer.chat_template").value_or("");
  const std::string params = api::parameters_text(r.manifest.parameters);
  std::string modelfile = "# Modelfile generated by hearth\n# To build a new model from this one, "
                          "replace FROM with:\n# FROM " + r.name + "\n\nFROM " + r.name + "\n";
  // A model made by POST /api/create: its adapters (by digest: the server's paths are its own),
  // system prompt and license, as Ollama's Modelfile spells them.
  json::array adapters;
  for (const auto& b : r.manifest.blobs)
    if (b.media_type == "adapter") {
      modelfile += "ADAPTER " + b.digest + "\n";
      adapters.emplace_back(json::object{{"digest", b.digest}, {"size", b.size}});
    }
  if (!r.manifest.template_text.empty())
    modelfile += "TEMPLATE \"\"\"" + r.manifest.template_text + "\"\"\"\n";
  if (!r.manifest.system.empty()) modelfile += "SYSTEM \"\"\"" + r.manifest.system + "\"\"\"\n";
  if (!r.manifest.license.empty())
    modelfile += "LICENSE \"\"\"" + r.manifest.license + "\"\"\"\n";
  std::string line;
  for (char c : params) {
    if (c != '\n') {
      line += c;
      continue;
    }
    modelfile += "PARAMETER " + line + "\n";
    line.clear();
  }
  json::object out;
  out["modelfile"] = modelfile;
  out["parameters"] = params;
  out["template"] = tmpl;
  if (!r.manifest.system.empty()) out["system"] = r.manifest.system;
  if (!r.manifest.license.empty()) out["license"] = r.manifest.license;
  json::object details = api::to_json(model_details(api.store, r.manifest));
  if (!adapters.empty()) details["adapters"] = std::move(adapters);
  out["details"] = std::move(details);
  out["model_info"] = std::move(info);
  out["capabilities"] = json::array{"completion"};
  out["modified_at"] = r.manifest.created_at;
  return json_response(out);
}

Response ps(ApiContext& api, const Request& request) {
  const auto visible = api.library.list(request.caller.user_id);
  store::Store& names = api.library.names(request.caller.user_id);
  std::vector<api::RunningModel> models;
  for (const auto& loaded : api.scheduler.loaded()) {
    // Loaded weights are shown under each of the caller's own names for them (one entry per
    // name, as Ollama lists names); weights only other users name stay hidden.
    for (const auto& m : visible) {
      const store::BlobRef* blob = model_blob(m);
      if (blob == nullptr || names.blob_path(blob->digest).string() != loaded.model_path) continue;
      // Busy or kept forever: Ollama shows a time far in the future.
      const auto expires = loaded.expires_at.value_or(std::chrono::system_clock::now() +
                                                      std::chrono::hours(24 * 365 * 100));
      models.push_back({.name = m.full_name(),
                        .size = loaded.size_bytes,
                        .digest = std::string(digest_hex(blob->digest)),
                        .details = model_details(api.store, m),
                        .expires_at = rfc3339(expires),
                        .size_vram = 0,
                        .context_length = loaded.num_ctx});
    }
  }
  return json_response(api::running_models_json(models));
}

json::object event_json(const library::PullProgressEvent& e) {
  json::object o{{"status", e.status}};
  if (!e.digest.empty()) o["digest"] = e.digest;
  if (e.total > 0 || !e.digest.empty()) {
    o["total"] = e.total;
    o["completed"] = e.completed;
  }
  return o;
}

// Runs on its own thread (never the I/O thread); answers through `out`.
void run_pull(ApiContext& api, std::int64_t user_id, const std::string& model, bool stream,
              library::PullSettings settings, const std::shared_ptr<ResponseStream>& out,
              const std::function<bool()>& stopping) {
  bool held_manifest_event = false;  // "pulling manifest" waits until the checks have passed
  std::string last_status;
  auto last_sent = std::chrono::steady_clock::time_point{};
  auto send = [&](const library::PullProgressEvent& e) {
    if (!out->started()) out->start(200, "application/x-ndjson");
    out->write(json::serialize(event_json(e)) + "\n");
  };
  auto progress = [&](const library::PullProgressEvent& e) {
    if (!stream) return;
    if (e.status == "pulling manifest" && !out->started()) {
      held_manifest_event = true;
      return;
    }
    if (held_manifest_event) {
      held_manifest_event = false;
      send({"pulling manifest", "", 0, 0});
    }
    // Byte progress comes many times a second: at most ten lines a second, plus the last one.
    const auto now = std::chrono::steady_clock::now();
    const bool same = e.status == last_status;
    if (same && e.completed < e.total && now - last_sent < std::chrono::milliseconds(100)) return;
    last_status = e.status;
    last_sent = now;
    send(e);
  };
  auto cancelled = [&] { return out->cancelled() || stopping(); };
  try {
    auto manifest = api.library.pull(user_id, model, progress, cancelled, settings);
    if (!manifest) {
      if (out->started()) {
        out->write(json::serialize(json::object{{"error", "pull cancelled"}}) + "\n");
        out->finish();
      } else {
        out->respond(error_response("/api/pull", 503, ErrorKind::unavailable, "pull cancelled"));
      }
      return;
    }
    if (!out->started()) {
      // stream:false, or nothing was left to fetch: one answer.
      out->respond(json_response(json::object{{"status", "success"}}));
      return;
    }
    out->finish();
  } catch (const Error& e) {
    if (out->started()) {
      out->write(json_text(json::object{{"error", public_message(e.what())}}) + "\n");
      out->finish();
    } else {
      out->respond(error_response("/api/pull", status_for(e.kind()), e.kind(), e.what()));
    }
  } catch (const std::exception& e) {
    SPDLOG_ERROR("pull of {}: {}", model, e.what());
    const std::string message = std::string("internal error: ") + e.what();
    if (out->started()) {
      out->write(json_text(json::object{{"error", public_message(message)}}) + "\n");
      out->finish();
    } else {
      out->respond(error_response("/api/pull", 500, ErrorKind::internal, message));
    }
  }
}

Response pull(ApiContext& api, const Request& request) {
  const json::object body = parse_body_object(request.body);
  const std::string model = model_field(body);
  const bool stream = opt_bool(body, "stream").value_or(true);
  library::PullSettings settings;
  settings.force = opt_bool(body, "force").value_or(false);
  auto out = std::make_shared<ResponseStream>();
  const std::int64_t user_id = request.caller.user_id;
  api.library.run_in_background(
      [&api, user_id, model, stream, settings, out](const std::function<bool()>& stopping) {
        run_pull(api, user_id, model, stream, settings, out, stopping);
      });
  Response r;
  r.stream = out;
  return r;
}

Response remove(ApiContext& api, const Request& request) {
  const json::object body = parse_body_object(request.body);
  const std::int64_t user = request.caller.user_id;
  // The installed name itself: "name@v2" names a version, which is not deleted this way.
  const library::ResolvedModel m = api.library.resolve_installed(user, model_field(body));
  api.library.remove(user, m.name);
  // Gone from disk: let its memory go too (as Ollama does). Weights another name still uses stay
  // loaded.
  std::error_code ec;
  if (!std::filesystem::exists(m.model_path, ec)) api.scheduler.unload(m.model_path.string());
  Response r;
  r.body.clear();
  return r;
}

Response copy(ApiContext& api, const Request& request) {
  const json::object body = parse_body_object(request.body);
  api.library.copy(request.caller.user_id, req_string(body, "source"),
                   req_string(body, "destination"));
  Response r;
  r.body.clear();
  return r;
}

}  // namespace

void add_library_routes(Router& router, ApiContext& api) {
  router.add("GET", "/api/tags", [&api](const Request& r) { return tags(api, r); });
  router.add("GET", "/v1/models", [&api](const Request& r) { return openai_models(api, r); });
  router.add("GET", "/v1/models/{model}", [&api](const Request& r) {
    const library::ResolvedModel m =
        api.library.resolve(r.caller.user_id, decoded_param(r, "model"));
    return json_response(openai_model(m.manifest));
  });
  router.add("POST", "/api/show", [&api](const Request& r) { return show(api, r); });
  router.add("GET", "/api/ps", [&api](const Request& r) { return ps(api, r); });
  router.add("POST", "/api/pull", [&api](const Request& r) { return pull(api, r); });
  router.add("DELETE", "/api/delete", [&api](const Request& r) { return remove(api, r); });
  router.add("POST", "/api/copy", [&api](const Request& r) { return copy(api, r); });
}

}  // namespace hearth::server
