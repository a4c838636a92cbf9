// `hearth user add NAME [--email E]` and `hearth user list`: the accounts that call the server
// with API tokens of their own (server/auth.h). Once any user other than the implicit "local"
// one exists, the server asks every request for a token.
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/json_text.h"
#include "library/local_user.h"

namespace hearth::cli {
namespace {

struct UserOptions {
  std::string name;
  std::string email;
};

// Names appear in URLs, logs and shell commands: keep them to a plain, unambiguous set.
void check_name(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == library::kLocalUser)
    throw Error(ErrorKind::invalid_input,
                "'" + name +
                    "' is reserved for the machine's owner (requests without a token); "
                    "choose another name");
  auto ok = [](unsigned char c) { return std::isalnum(c) || c == '.' || c == '_' || c == '-'; };
  if (name.empty() || name.size() > 64 || !std::isalnum(static_cast<unsigned char>(name[0])) ||
      !std::all_of(name.begin(), name.end(), ok))
    throw Error(ErrorKind::invalid_input, "user name '" + name +
                                              "' must be 1-64 letters, digits, '.', '_' or '-', "
                                              "starting with a letter or digit");
}

void add_user(const UserOptions& o) {
  check_name(o.name);
  db::Database db = open_accounts_database();
  db::Users users(db);
  db::User user;
  try {
    user = users.create(o.name, o.email, "");
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::conflict) throw;
    throw Error(ErrorKind::conflict,
                "user '" + o.name + "' already exists (see `hearth user list`)");
  }
  const boost::json::object detail = {{"email", o.email}, {"via", "cli"}};
  db::AuditLog(db).record(user.id, "user.add", user.username, format_json(detail));
  std::printf("Added user %s (id %lld).\n", user.username.c_str(), static_cast<long long>(user.id));
  std::printf(
      "A running hearth server now asks every request for an API key; create one with\n"
      "  hearth token create --user %s\n",
      user.username.c_str());
}

void list_users() {
  db::Database db = open_accounts_database();
  std::map<std::int64_t, int> live_tokens;
  for (const auto& t : db::ApiTokens(db).list())
    if (!t.revoked()) ++live_tokens[t.user_id];
  std::printf("%-6s %-24s %-28s %-17s %s\n", "ID", "NAME", "EMAIL", "CREATED", "TOKENS");
  for (const auto& u : db::Users(db).list()) {
    std::printf("%-6lld %-24s %-28s %-17s %d\n", static_cast<long long>(u.id), u.username.c_str(),
                u.email.empty() ? "-" : u.email.c_str(), short_time(u.created_at).c_str(),
                live_tokens[u.id]);
  }
}

}  // namespace

void register_user(CLI::App& app) {
  auto* cmd = app.add_subcommand("user", "manage the users who may call the server");
  cmd->require_subcommand(1);
  auto options = std::make_shared<UserOptions>();
  auto* add = cmd->add_subcommand("add", "add a user (the server then requires API keys)");
  add->add_option("name", options->name, "the user's name")->required();
  add->add_option("--email", options->email, "the user's email address");
  add->callback([options] { add_user(*options); });
  cmd->add_subcommand("list", "list the users")->alias("ls")->callback(list_users);
}

}  // namespace hearth::cli
