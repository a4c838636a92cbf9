// `hearth audit [--user NAME] [--limit N] [--json]`: the audit log, newest first: management
// (users added, tokens created and revoked, settings, desktop agents, remote engines), model use
// (model.use: one entry per generation with its prompt and completion tokens) and training
// (training.start when queued, training.run, training.cancel, training.finish with its status,
// training.deploy, training.rollback).
#include <boost/json.hpp>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/json_text.h"

namespace hearth::cli {
namespace {

namespace json = boost::json;

struct AuditOptions {
  std::string user;
  std::size_t limit = 50;
  bool json = false;
};

void print_json(const std::vector<db::AuditEntry>& entries) {
  json::array out;
  for (const auto& e : entries) {
    // The database only stores JSON details; should one not parse, it is shown as its text.
    std::optional<json::value> detail = parse_json(e.detail);
    out.push_back(json::object{{"id", e.id},
                               {"time", db::format_time(e.created_at)},
                               {"user_id", e.user_id ? json::value(*e.user_id) : json::value()},
                               {"user", e.username},
                               {"action", e.action},
                               {"target", e.target},
                               {"detail", detail ? std::move(*detail) : json::value(e.detail)}});
  }
  std::printf("%s\n", format_json(out, 2).c_str());
}

void print_text(const std::vector<db::AuditEntry>& entries) {
  std::printf("%-17s %-16s %-14s %-20s %s\n", "TIME (UTC)", "USER", "ACTION", "TARGET", "DETAIL");
  for (const auto& e : entries) {
    // "-": no user, or a removed one (whose entries stay).
    const std::string user = e.username.empty() ? "-" : e.username;
    std::printf("%-17s %-16s %-14s %-20s %s\n", short_time(e.created_at).c_str(), user.c_str(),
                e.action.c_str(), e.target.empty() ? "-" : e.target.c_str(),
                e.detail == "{}" ? "" : e.detail.c_str());
  }
}

void show_audit(const AuditOptions& o) {
  db::Database db = open_accounts_database();
  std::optional<std::int64_t> only;
  if (!o.user.empty()) only = require_user(db, o.user).id;
  auto entries = db::AuditLog(db).list(only, o.limit);
  if (o.json)
    print_json(entries);
  else
    print_text(entries);
}

}  // namespace

void register_audit(CLI::App& app) {
  auto o = std::make_shared<AuditOptions>();
  auto* cmd = app.add_subcommand("audit", "show the audit log, newest first");
  cmd->add_option("--user", o->user, "only this user's entries");
  cmd->add_option("--limit", o->limit, "at most this many entries")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  cmd->add_flag("--json", o->json, "print one JSON array");
  cmd->callback([o] { show_audit(*o); });
}

}  // namespace hearth::cli
