// `hearth remote add NAME --url URL [--api-key K] [--models a,b] [--user U]`, `hearth remote
// list` and `hearth remote remove NAME`: OpenAI-compatible engines (vLLM, llama-server, Ollama's
// /v1, another hearth) that a running hub sends chats to for the models they serve
// (server/remote_engines.h). The machine owner's command: it works on the database directly, and
// a running hub sees the change within a few seconds. The key is sealed at rest
// (loop/remote_settings.h) and never printed.
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "db/remote_engines.h"
#include "loop/remote_settings.h"

namespace hearth::cli {
namespace {

struct RemoteOptions {
  std::string name;
  std::string url;
  std::string api_key;
  std::string models;
  std::string user;
};

void check_engine_name(const std::string& name) {
  auto ok = [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '-'; };
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0])) ||
      !std::all_of(name.begin(), name.end(), ok))
    throw Error(ErrorKind::invalid_input, "remote engine name '" + name +
                                              "' must be 1-64 letters, digits, '.', '_' or '-', "
                                              "starting with a letter or digit");
}

// http(s) only, a host, no trailing '/'. Private and loopback addresses are fine: the owner
// names the engine (unlike a user's remote trainer, which url_policy checks).
std::string checked_engine_url(const std::string& url) {
  std::string u = url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  const bool http = u.starts_with("http://"), https = u.starts_with("https://");
  if (!http && !https)
    throw Error(ErrorKind::invalid_input, "--url must be an http:// or https:// URL, e.g. "
                                          "http://127.0.0.1:8000/v1 (got '" + url + "')");
  const std::string rest = u.substr(http ? 7 : 8);
  if (rest.empty() || rest.front() == '/' || rest.front() == ':' ||
      rest.find_first_of(" \t\r\n@?#") != std::string::npos)
    throw Error(ErrorKind::invalid_input, "--url has no valid host: '" + url + "'");
  return u;
}

// "a, b,,c" → {"a", "b", "c"}
std::vector<std::string> model_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string m = text.substr(start, end - start);
    m.erase(0, m.find_first_not_of(" \t"));
    m.erase(m.find_last_not_of(" \t") + 1);
    if (!m.empty() && std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
    start = end + 1;
  }
  return out;
}

void add_remote(const RemoteOptions& o) {
  check_engine_name(o.name);
  const std::string url = checked_engine_url(o.url);
  const std::vector<std::string> models = model_list(o.models);
  db::Database db = open_accounts_database();
  std::optional<std::int64_t> user_id;
  if (!o.user.empty()) user_id = require_user(db, o.user).id;
  db::NewRemoteEngine row{.name = o.name, .base_url = url, .models = models, .user_id = user_id};
  if (!o.api_key.empty()) row.sealed_key = loop::seal_secret(o.api_key, loop::remote_key_file());
  try {
    db::RemoteEngineRows(db).add(row);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::conflict) throw;
    throw Error(ErrorKind::conflict, "remote engine '" + o.name +
                                         "' already exists (see `hearth remote list`; remove it "
                                         "first with `hearth remote remove " + o.name + "`)");
  }
  boost::json::array names;
  for (const auto& m : models) names.emplace_back(m);
  const boost::json::object detail = {{"url", url},
                                      {"models", names},
                                      {"key", !o.api_key.empty()},
                                      {"user", o.user},
                                      {"via", "cli"}};
  db::AuditLog(db).record(user_id, "remote.add", o.name, format_json(detail));
  std::printf("Added remote engine %s (%s) for %s, serving %s.\n", o.name.c_str(), url.c_str(),
              o.user.empty() ? "every user" : ("user " + o.user).c_str(),
              models.empty() ? "the models its GET /models lists" : o.models.c_str());
  std::printf("A running hearth server uses it within a few seconds.\n");
}

void list_remotes() {
  db::Database db = open_accounts_database();
  std::printf("%-16s %-36s %-4s %-24s %-12s %s\n", "NAME", "URL", "KEY", "MODELS", "USER",
              "CREATED");
  for (const auto& r : db::RemoteEngineRows(db).list()) {
    std::string models;
    for (const auto& m : r.models) models += (models.empty() ? "" : ",") + m;
    if (models.empty()) models = "(discovered)";
    std::string user = "(shared)";
    if (r.user_id) {
      const auto u = db::Users(db).find(*r.user_id);
      user = u ? u->username : "#" + std::to_string(*r.user_id);
    }
    std::printf("%-16s %-36s %-4s %-24s %-12s %s\n", r.name.c_str(), r.base_url.c_str(),
                r.sealed_key.empty() ? "no" : "yes", models.c_str(), user.c_str(),
                short_time(r.created_at).c_str());
  }
}

void remove_remote(const RemoteOptions& o) {
  db::Database db = open_accounts_database();
  if (!db::RemoteEngineRows(db).remove(o.name))
    throw Error(ErrorKind::not_found,
                "no remote engine '" + o.name + "' (see `hearth remote list`)");
  db::AuditLog(db).record(std::nullopt, "remote.remove", o.name, R"({"via":"cli"})");
  std::printf("Removed remote engine %s.\n", o.name.c_str());
}

}  // namespace

void register_remote(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "remote", "manage remote OpenAI-compatible engines the server sends chats to");
  cmd->require_subcommand(1);
  auto options = std::make_shared<RemoteOptions>();
  auto* add = cmd->add_subcommand(
      "add", "add an engine (vLLM, llama-server, Ollama's /v1, another hearth serve)");
  add->add_option("name", options->name, "a name for it (unique)")->required();
  add->add_option("--url", options->url, "its OpenAI API base, e.g. http://10.0.0.5:8000/v1")
      ->required();
  add->add_option("--api-key", options->api_key, "the key it asks for (sealed at rest)");
  add->add_option("--models", options->models,
                  "the model names it serves, comma-separated (default: its GET /models)");
  add->add_option("--user", options->user, "give it to this user only (default: every user)");
  add->callback([options] { add_remote(*options); });
  cmd->add_subcommand("list", "list the engines (never their keys)")
      ->alias("ls")
      ->callback(list_remotes);
  auto* remove = cmd->add_subcommand("remove", "remove an engine")->alias("rm");
  remove->add_option("name", options->name, "the engine's name")->required();
  remove->callback([options] { remove_remote(*options); });
}

}  // namespace hearth::cli
