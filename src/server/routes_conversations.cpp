// Kept conversations, feedback and training data (see conversation_capture.h for how chats are
// kept, data/data.h for scores and export):
//   GET    /api/conversations[?limit=N&offset=M&q=TEXT]  the caller's, newest first; with q only
//          those whose title or any message holds TEXT (letters in any case, % and _ literal)
//   GET    /api/conversations/{id}                       with its current branch ("messages", root
//          first) and every message off it ("alternatives": replaced answers, older branches);
//          each message names its "parent_id", so the whole tree can be drawn
//   PATCH  /api/conversations/{id}                       {"training_opt_in": true|false|null}
//   DELETE /api/conversations/{id}
//   POST   /api/conversations/{id}/messages/{message_id}/feedback
//          {"thumbs": "up"|"down" (or 1 / -1), "rating": 1..5, "reason", "comment",
//           "corrected_answer"}
//   GET    /api/settings, PUT /api/settings              {"store_conversations", "training_opt_in", "route"}
//   POST   /api/training/export-data                     {"min_score", "min_examples",
//          "allow_small", "model", "since", "validation", "redact_pii", "keep_thinking"} -> the
//          dataset version,
//          its counts and the URLs it downloads from (never a path on the server)
//   GET    /api/training/datasets                        the caller's dataset versions
//   GET    /api/training/datasets/{id}/train.jsonl       an exported file (application/x-ndjson)
//   GET    /api/training/datasets/{id}/validation.jsonl
//   GET    /api/training/readiness[?min_score=0.7]       per model with kept conversations:
//          qualifying examples and the threshold, conversations, answers, rated (with
//          feedback), scored, and "histogram": answers by quality score in tenths
//          ([0, 0.1) ... [0.9, 1]); the totals "conversations" and "rated"
// Everything is scoped to the caller: another user's conversation or message is 404.
#include <sstream>
#include <charconv>
#include <iterator>
#include <map>
#include <set>

#include "crypto/sealed_file.h"
#include "core/log.h"
#include "core/paths.h"
#include "data/data.h"
#include "server/api.h"
#include "server/json_util.h"
#include "server/response_stream.h"
#include "server/routing.h"

namespace hearth::server {
namespace {

std::int64_t id_param(const Request& r, std::string_view name, std::string_view what) {
  const std::string_view text = r.param(name);
  std::int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0)
    throw Error(ErrorKind::invalid_input, std::string(what) + " id '" + std::string(text) + "' must be a positive integer");
  return id;
}

std::int64_t query_int(const Request& r, std::string_view key, std::int64_t fallback, std::int64_t lo,
                       std::int64_t hi) {
  const std::string text = r.query(key);
  if (text.empty()) return fallback;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi)
    throw Error(ErrorKind::invalid_input, "query parameter '" + std::string(key) + "' must be a number from " +
                                              std::to_string(lo) + " to " + std::to_string(hi));
  return v;
}

json::value opt_json(const std::optional<double>& v) { return v ? json::value(*v) : json::value(nullptr); }
json::value opt_json(const std::optional<int>& v) { return v ? json::value(*v) : json::value(nullptr); }
json::value opt_json(const std::optional<bool>& v) { return v ? json::value(*v) : json::value(nullptr); }

json::object conversation_json(const db::Conversation& c) {
  json::value params = nullptr;
  json::error_code ec;
  params = json::parse(c.parameters, ec);
  if (ec) params = json::object{};
  return {{"id", c.id},
          {"model", c.model},
          {"source", c.source},
          {"title", c.title},
          {"parameters", params},
          {"training_opt_in", opt_json(c.training_opt_in)},
          {"message_count", c.message_count},
          {"current_message_id",
           c.current_message_id ? json::value(*c.current_message_id) : json::value(nullptr)},
          {"created_at", db::format_time(c.created_at)},
          {"updated_at", db::format_time(c.updated_at)}};
}

json::object feedback_json(const db::Feedback& f) {
  json::value thumbs = nullptr;
  if (f.thumbs) thumbs = *f.thumbs > 0 ? "up" : "down";
  return {{"thumbs", thumbs},
          {"rating", opt_json(f.rating)},
          {"reason", f.reason},
          {"comment", f.comment},
          {"corrected_answer", f.corrected_answer.empty() ? json::value(nullptr) : json::value(json::string(f.corrected_answer))},
          {"updated_at", db::format_time(f.updated_at)}};
}

json::object message_json(const db::Message& m, const db::Feedback* f) {
  json::object o{{"id", m.id},
                 {"parent_id", m.parent_id ? json::value(*m.parent_id) : json::value(nullptr)},
                 {"role", m.role},
                 {"content", m.content},
                 {"position", m.position},
                 {"created_at", db::format_time(m.created_at)}};
  if (m.role == "assistant") {
    if (!m.reasoning.empty()) o["reasoning"] = m.reasoning;
    o["model"] = m.model;
    o["prompt_tokens"] = m.prompt_tokens;
    o["completion_tokens"] = m.completion_tokens;
    o["duration_ms"] = m.duration_ms;
    o["regenerated"] = m.regenerated;
    o["continued"] = m.continued;
    o["quality_score"] = opt_json(m.quality_score);
    o["feedback"] = f ? json::value(feedback_json(*f)) : json::value(nullptr);
  }
  return o;
}

db::Conversation owned(ApiContext& api, const Request& r, std::int64_t id) {
  auto c = db::Conversations(api.db).find(r.caller.user_id, id);
  if (!c) throw Error(ErrorKind::not_found, "conversation " + std::to_string(id) + " not found");
  return *c;
}

Response list(ApiContext& api, const Request& r) {
  const auto limit = query_int(r, "limit", 50, 1, 1000);
  const auto offset = query_int(r, "offset", 0, 0, 1'000'000'000);
  const std::string text = r.query_text("q");
  if (text.size() > 1000)
    throw Error(ErrorKind::invalid_input, "query parameter 'q' is longer than 1000 bytes");
  db::Conversations conversations(api.db);
  const auto found =
      text.empty() ? conversations.list(r.caller.user_id, static_cast<std::size_t>(limit),
                                        static_cast<std::size_t>(offset))
                   : conversations.search(r.caller.user_id, text, static_cast<std::size_t>(limit),
                                          static_cast<std::size_t>(offset));
  json::array out;
  for (const auto& c : found) out.emplace_back(conversation_json(c));
  return json_response(json::object{{"conversations", std::move(out)}});
}

Response get_one(ApiContext& api, const Request& r) {
  const auto c = owned(api, r, id_param(r, "id", "conversation"));
  const auto feedback = db::FeedbackStore(api.db).for_conversation(r.caller.user_id, c.id);
  db::Conversations conversations(api.db);
  auto with_feedback = [&](const db::Message& m) {
    const db::Feedback* f = nullptr;
    for (const auto& x : feedback)
      if (x.message_id == m.id) f = &x;
    return message_json(m, f);
  };
  json::array messages, alternatives;
  std::set<std::int64_t> on_branch;
  for (const auto& m : conversations.messages(r.caller.user_id, c.id)) {
    on_branch.insert(m.id);
    messages.emplace_back(with_feedback(m));
  }
  for (const auto& m : conversations.every_message(r.caller.user_id, c.id))
    if (!on_branch.count(m.id)) alternatives.emplace_back(with_feedback(m));
  json::object o = conversation_json(c);
  o["messages"] = std::move(messages);
  o["alternatives"] = std::move(alternatives);
  return json_response(o);
}

Response patch(ApiContext& api, const Request& r) {
  const auto c = owned(api, r, id_param(r, "id", "conversation"));
  const json::object body = parse_body_object(r.body);
  if (!body.contains("training_opt_in"))
    throw Error(ErrorKind::invalid_input, "field 'training_opt_in' is required (true, false or null)");
  db::Conversations(api.db).set_training_opt_in(r.caller.user_id, c.id, opt_bool(body, "training_opt_in"));
  return json_response(conversation_json(owned(api, r, c.id)));
}

Response remove(ApiContext& api, const Request& r) {
  const auto id = id_param(r, "id", "conversation");
  if (!db::Conversations(api.db).remove(r.caller.user_id, id))
    throw Error(ErrorKind::not_found, "conversation " + std::to_string(id) + " not found");
  return json_response(json::object{{"deleted", id}});
}

Response feedback(ApiContext& api, const Request& r) {
  const auto conversation = id_param(r, "id", "conversation");
  const auto message = id_param(r, "message_id", "message");
  const std::int64_t user = r.caller.user_id;
  if (!db::Conversations(api.db).find_message(user, conversation, message))
    throw Error(ErrorKind::not_found, "message " + std::to_string(message) + " not found in conversation " +
                                          std::to_string(conversation));
  const json::object body = parse_body_object(r.body);
  db::NewFeedback f;
  if (const auto it = body.find("thumbs"); it != body.end() && !it->value().is_null()) {
    const auto& v = it->value();
    if (v.is_string() && (v.as_string() == "up" || v.as_string() == "down")) f.thumbs = v.as_string() == "up" ? 1 : -1;
    else if (v.is_int64() && (v.as_int64() == 1 || v.as_int64() == -1)) f.thumbs = static_cast<int>(v.as_int64());
    else throw Error(ErrorKind::invalid_input, "field 'thumbs' must be \"up\" or \"down\"");
  }
  if (auto rating = opt_int(body, "rating")) {
    if (*rating < 1 || *rating > 5) throw Error(ErrorKind::invalid_input, "field 'rating' must be from 1 to 5");
    f.rating = static_cast<int>(*rating);
  }
  f.reason = opt_string(body, "reason").value_or("");
  f.comment = opt_string(body, "comment").value_or("");
  f.corrected_answer = opt_string(body, "corrected_answer").value_or("");
  if (!f.thumbs && !f.rating && f.corrected_answer.empty())
    throw Error(ErrorKind::invalid_input, "give 'thumbs', 'rating' or 'corrected_answer'");
  const db::Feedback stored = db::FeedbackStore(api.db).upsert(user, message, f);
  const double score = data::rescore_message(api.db, user, message);
  json::object o = feedback_json(stored);
  o["message_id"] = message;
  o["quality_score"] = score;
  return json_response(o);
}

json::object settings_json(const db::UserSettings& s) {
  return {{"store_conversations", s.store_conversations},
          {"training_opt_in", s.training_opt_in},
          {"route", s.route_policy}};
}

Response get_settings(ApiContext& api, const Request& r) {
  return json_response(settings_json(db::UserSettingsStore(api.db).get(r.caller.user_id)));
}

Response put_settings(ApiContext& api, const Request& r) {
  const json::object body = parse_body_object(r.body);
  db::UserSettingsStore store(api.db);
  db::UserSettings s = store.get(r.caller.user_id);
  if (auto v = opt_bool(body, "store_conversations")) s.store_conversations = *v;
  if (auto v = opt_bool(body, "training_opt_in")) s.training_opt_in = *v;
  if (const auto* v = body.if_contains("route")) {
    if (!v->is_string())
      throw Error(ErrorKind::invalid_input,
                  "\"route\" must be desktop-then-local, desktop-only or local-only");
    s.route_policy = std::string(to_string(route_policy_from(v->as_string(), "\"route\"")));
  }
  s.user_id = r.caller.user_id;
  store.set(s);
  api.route_policies.forget(r.caller.user_id);
  try {
    db::AuditLog(api.db).record(r.caller.user_id, "settings.update", "settings",
                                json::serialize(settings_json(s)));
  } catch (const std::exception& e) {
    SPDLOG_WARN("audit: {}", e.what());
  }
  return json_response(settings_json(s));
}

// "train_url" and "validation_url" (null when the version has no validation file).
void add_urls(json::object& o, std::int64_t id, bool has_validation) {
  const std::string base = "/api/training/datasets/" + std::to_string(id) + "/";
  o["train_url"] = base + "train.jsonl";
  o["validation_url"] =
      has_validation ? json::value(json::string(base + "validation.jsonl")) : json::value(nullptr);
}

json::object dataset_json(const db::DatasetVersion& v) {
  json::error_code ec;
  json::value filter = json::parse(v.filter, ec);
  if (ec) filter = json::object{};
  json::object o{{"id", v.id},
                 {"content_hash", v.content_hash},
                 {"train_examples", v.train_examples},
                 {"validation_examples", v.validation_examples},
                 {"filter", filter},
                 {"created_at", db::format_time(v.created_at)}};
  add_urls(o, v.id, !v.validation_path.empty());
  return o;
}

Response list_datasets(ApiContext& api, const Request& r) {
  json::array out;
  for (const auto& v : db::DatasetVersions(api.db).list(r.caller.user_id))
    out.emplace_back(dataset_json(v));
  return json_response(json::object{{"datasets", std::move(out)}});
}

// GET /api/training/datasets/{id}/{file}: one file of the caller's dataset version, read on the
// background thread (a dataset can be large).
Response download_dataset(ApiContext& api, const Request& r) {
  const auto id = id_param(r, "id", "dataset");
  const std::string file(r.param("file"));
  if (file != "train.jsonl" && file != "validation.jsonl")
    throw Error(ErrorKind::not_found,
                "a dataset has train.jsonl and validation.jsonl, not '" + file + "'");
  const auto v = db::DatasetVersions(api.db).find(r.caller.user_id, id);
  if (!v) throw Error(ErrorKind::not_found, "dataset " + std::to_string(id) + " not found");
  const std::string path = file == "train.jsonl" ? v->train_path : v->validation_path;
  if (path.empty())
    throw Error(ErrorKind::not_found, "dataset " + std::to_string(id) + " has no validation file");
  auto out = std::make_shared<ResponseStream>();
  const std::string route = r.path();
  const std::string name = "dataset-" + std::to_string(id) + "-" + file;
  api.background.submit([out, path, route, name, id] {
    try {
      Response resp;
      resp.content_type = "application/x-ndjson";
      // Opened for its owner; a read error half-way (or a damaged file) is an error, never a
      // short file answered 200.
      try {
        resp.body = crypto::read_file(path);
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::not_found) throw;
        // Never the path itself: the client only knows the dataset version.
        out->respond(error_response(
            route, 404, ErrorKind::not_found,
            "the file of dataset " + std::to_string(id) + " is no longer on the server"));
        return;
      }
      resp.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
      out->respond(resp);
    } catch (const std::exception& e) {
      SPDLOG_ERROR("dataset {}: {}", id, e.what());
      out->respond(error_response(route, 500, ErrorKind::io,
                                  "the file of dataset " + std::to_string(id) + " could not be read"));
    }
  });
  Response resp;
  resp.stream = std::move(out);
  return resp;
}

data::ExportOptions export_options(const json::object& body) {
  data::ExportOptions o;
  if (auto v = opt_number(body, "min_score")) {
    if (*v < 0 || *v > 1) throw Error(ErrorKind::invalid_input, "field 'min_score' must be from 0 to 1");
    o.min_score = *v;
  }
  if (auto v = opt_int(body, "min_examples")) {
    if (*v < 1) throw Error(ErrorKind::invalid_input, "field 'min_examples' must be at least 1");
    o.min_examples = *v;
  }
  o.allow_small = opt_bool(body, "allow_small").value_or(false);
  o.model = opt_string(body, "model").value_or("");
  if (auto since = opt_string(body, "since")) {
    std::string text = *since;
    if (text.size() == 10) text += "T00:00:00.000Z";  // a date alone: from its start (UTC)
    try {
      o.since = db::parse_time(text);
    } catch (const Error&) {
      throw Error(ErrorKind::invalid_input, "field 'since' must be a date (YYYY-MM-DD) or YYYY-MM-DDTHH:MM:SS.mmmZ");
    }
  }
  if (auto v = opt_number(body, "validation")) {
    if (*v < 0 || *v >= 1) throw Error(ErrorKind::invalid_input, "field 'validation' must be from 0 to below 1");
    o.validation = *v;
  }
  o.redact_pii = opt_bool(body, "redact_pii").value_or(false);
  o.keep_thinking = opt_bool(body, "keep_thinking").value_or(false);
  return o;
}

Response export_data(ApiContext& api, const Request& r) {
  const data::ExportOptions options = export_options(parse_body_object(r.body));
  const std::int64_t user = r.caller.user_id;
  auto out = std::make_shared<ResponseStream>();
  const std::string path = r.path();
  const db::Database database = api.db;
  // Reading every conversation and writing files is no work for the I/O thread.
  api.background.submit([out, options, user, path, database] {
    try {
      const auto dir = paths::home() / "datasets" / std::to_string(user);
      const data::ExportResult e = data::export_dataset(database, user, options, dir);
      // The files are named by the dataset version and its URLs: where they lie on the server is
      // the server's business (the owner's CLI prints the paths).
      json::object o{{"dataset_version_id", e.dataset_version_id},
                     {"train_examples", e.train_examples},
                     {"validation_examples", e.validation_examples},
                     {"duplicates_removed", e.duplicates_removed},
                     {"weighted_turns", e.weighted_turns},
                     {"content_hash", e.content_hash}};
      add_urls(o, e.dataset_version_id, !e.validation_path.empty());
      out->respond(json_response(o, 201));
    } catch (const Error& e) {
      if (status_for(e.kind()) < 500) {  // the request's fault: too few examples, bad options
        out->respond(error_response(path, status_for(e.kind()), e.kind(), e.what()));
        return;
      }
      // File errors name files on the server: those stay in its log.
      SPDLOG_WARN("export for user {}: {}", user, e.what());
      out->respond(error_response(path, 500, e.kind(),
                                  "the dataset could not be written on the server (its log says "
                                  "why)"));
    } catch (const std::exception& e) {
      SPDLOG_WARN("export for user {}: {}", user, e.what());
      out->respond(error_response(path, 500, ErrorKind::internal,
                                  "the dataset could not be written on the server (its log says "
                                  "why)"));
    }
  });
  Response resp;
  resp.stream = std::move(out);
  return resp;
}

Response readiness(ApiContext& api, const Request& r) {
  double min_score = 0.7;
  if (const std::string text = r.query("min_score"); !text.empty()) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), min_score);
    if (ec != std::errc() || end != text.data() + text.size() || min_score < 0 || min_score > 1)
      throw Error(ErrorKind::invalid_input, "query parameter 'min_score' must be from 0 to 1");
  }
  // Every model with kept conversations, with what would qualify now (0 where the user has
  // not opted in) and the counts and score histogram behind it.
  std::map<std::string, json::object> by_model;
  const auto entry = [&](const std::string& model) -> json::object& {
    auto [it, added] = by_model.try_emplace(model);
    if (added)
      it->second = json::object{{"model", model}, {"qualifying_examples", 0},
                                {"needed", data::Readiness{}.needed}, {"ready", false},
                                {"conversations", 0}, {"answers", 0}, {"rated", 0},
                                {"scored", 0}, {"histogram", json::array(10, 0)}};
    return it->second;
  };
  for (const auto& x : data::readiness(api.db, r.caller.user_id, min_score)) {
    json::object& o = entry(x.model);
    o["qualifying_examples"] = x.qualifying;
    o["needed"] = x.needed;
    o["ready"] = x.qualifying >= x.needed;
  }
  std::int64_t conversations = 0, rated = 0;
  for (const auto& s : db::Conversations(api.db).data_summary(r.caller.user_id)) {
    json::object& o = entry(s.model);
    o["conversations"] = s.conversations;
    o["answers"] = s.answers;
    o["rated"] = s.rated;
    o["scored"] = s.scored;
    o["histogram"] = json::array(s.histogram.begin(), s.histogram.end());
    conversations += s.conversations;
    rated += s.rated;
  }
  json::array models;
  for (auto& [name, o] : by_model) models.emplace_back(std::move(o));
  json::object answer{{"min_score", min_score},
                      {"conversations", conversations},
                      {"rated", rated},
                      {"histogram_bucket", 0.1},
                      {"models", std::move(models)}};
  // Without the opt-in nothing qualifies, whatever the conversations: say so instead of zeros.
  const bool opted_in = db::UserSettingsStore(api.db).get(r.caller.user_id).training_opt_in;
  answer["opted_in"] = opted_in;
  if (!opted_in)
    answer["message"] =
        "you have not opted in to training, so no conversation counts yet; opt in with "
        "PUT /api/settings {\"training_opt_in\": true}";
  return json_response(answer);
}

}  // namespace

void add_conversation_routes(Router& router, ApiContext& api) {
  router.add("GET", "/api/conversations", [&api](const Request& r) { return list(api, r); });
  router.add("GET", "/api/conversations/{id}", [&api](const Request& r) { return get_one(api, r); });
  router.add("PATCH", "/api/conversations/{id}", [&api](const Request& r) { return patch(api, r); });
  router.add("DELETE", "/api/conversations/{id}", [&api](const Request& r) { return remove(api, r); });
  router.add("POST", "/api/conversations/{id}/messages/{message_id}/feedback",
             [&api](const Request& r) { return feedback(api, r); });
  router.add("GET", "/api/settings", [&api](const Request& r) { return get_settings(api, r); });
  router.add("PUT", "/api/settings", [&api](const Request& r) { return put_settings(api, r); });
  router.add("POST", "/api/training/export-data", [&api](const Request& r) { return export_data(api, r); });
  router.add("GET", "/api/training/datasets",
             [&api](const Request& r) { return list_datasets(api, r); });
  router.add("GET", "/api/training/datasets/{id}/{file}",
             [&api](const Request& r) { return download_dataset(api, r); });
  router.add("GET", "/api/training/readiness", [&api](const Request& r) { return readiness(api, r); });
}

}  // namespace hearth::server
