// `hearth token create --user NAME [--name LABEL] [--quiet]`, `hearth token list [--user NAME]`
// and `hearth token revoke ID_OR_PREFIX`: the API keys a user sends to the server as
// Authorization: Bearer <token> (server/auth.h). A token is printed once, when created: only its
// hash is stored.
#include <boost/json.hpp>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "library/local_user.h"

namespace hearth::cli {
namespace {

struct TokenOptions {
  std::string user;
  std::string label;
  bool quiet = false;
  std::string list_user;
  std::string id_or_prefix;
};

std::string audit_detail(const db::ApiToken& t, const std::string& username) {
  return format_json(boost::json::object{
      {"token_id", t.id}, {"name", t.name}, {"user", username}, {"via", "cli"}});
}

void create_token(const TokenOptions& o) {
  db::Database db = open_accounts_database();
  // The implicit local user exists once anything ran as it; asking for its token creates it
  // too, so its own clients keep working after a named user turns authentication on.
  if (o.user == library::kLocalUser) library::local_user_id(db);
  db::User user = require_user(db, o.user);
  db::CreatedApiToken made = db::ApiTokens(db).create(user.id, o.label);
  db::AuditLog(db).record(user.id, "token.create", made.token.prefix,
                          audit_detail(made.token, user.username));
  if (o.quiet) {  // for scripts: the token alone
    std::printf("%s\n", made.plaintext.c_str());
    return;
  }
  const std::string label = o.label.empty() ? "" : " (" + o.label + ")";
  std::printf("Created token %lld for %s%s:\n\n  %s\n\n", static_cast<long long>(made.token.id),
              user.username.c_str(), label.c_str(), made.plaintext.c_str());
  std::printf(
      "Copy it now: it cannot be shown again (hearth keeps only its hash).\n"
      "Send it as the header  Authorization: Bearer <token>\n");
}

void list_tokens(const TokenOptions& o) {
  db::Database db = open_accounts_database();
  std::optional<std::int64_t> only;
  if (!o.list_user.empty()) only = require_user(db, o.list_user).id;
  std::map<std::int64_t, std::string> names;
  for (const auto& u : db::Users(db).list()) names[u.id] = u.username;
  std::printf("%-5s %-13s %-16s %-20s %-17s %-17s %s\n", "ID", "PREFIX", "USER", "NAME", "CREATED",
              "LAST USED", "REVOKED");
  for (const auto& t : db::ApiTokens(db).list(only)) {
    std::printf("%-5lld %-13s %-16s %-20s %-17s %-17s %s\n", static_cast<long long>(t.id),
                t.prefix.c_str(), names[t.user_id].c_str(), t.name.empty() ? "-" : t.name.c_str(),
                short_time(t.created_at).c_str(),
                t.last_used_at ? short_time(*t.last_used_at).c_str() : "never",
                t.revoked_at ? short_time(*t.revoked_at).c_str() : "-");
  }
}

void revoke_token(const TokenOptions& o) {
  db::Database db = open_accounts_database();
  db::ApiTokens::Revoked r = db::ApiTokens(db).revoke(o.id_or_prefix);
  const db::ApiToken& t = r.token;
  std::string username;
  if (auto user = db::Users(db).find(t.user_id)) username = user->username;
  if (!r.changed) {  // nothing happened, so nothing for the audit log either
    std::printf("Token %lld (%s) of %s was already revoked on %s UTC.\n",
                static_cast<long long>(t.id), t.prefix.c_str(), username.c_str(),
                short_time(*t.revoked_at).c_str());
    return;
  }
  db::AuditLog(db).record(t.user_id, "token.revoke", t.prefix, audit_detail(t, username));
  std::printf("Revoked token %lld (%s) of %s: the server refuses it from now on.\n",
              static_cast<long long>(t.id), t.prefix.c_str(), username.c_str());
}

}  // namespace

void register_token(CLI::App& app) {
  auto* cmd = app.add_subcommand("token", "manage API keys for the server");
  cmd->require_subcommand(1);
  auto o = std::make_shared<TokenOptions>();

  auto* create = cmd->add_subcommand("create", "create an API key for a user (shown once)");
  create->add_option("--user", o->user, "the user it acts as")->required();
  create->add_option("--name", o->label, "a label to tell it apart, e.g. laptop");
  create->add_flag("-q,--quiet", o->quiet, "print only the token");
  create->callback([o] { create_token(*o); });

  auto* list = cmd->add_subcommand("list", "list API keys (prefixes only)")->alias("ls");
  list->add_option("--user", o->list_user, "only this user's");
  list->callback([o] { list_tokens(*o); });

  auto* revoke = cmd->add_subcommand("revoke", "revoke an API key");
  revoke->add_option("token", o->id_or_prefix, "its ID or PREFIX from `hearth token list`")
      ->required();
  revoke->callback([o] { revoke_token(*o); });
}

}  // namespace hearth::cli
