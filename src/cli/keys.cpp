// `hearth keys status` and `hearth keys rotate [--passphrase]`: the master key that wraps every
// user's data key (db.h "encryption at rest"). Also the terminal prompt for a passphrase that
// every command uses when a database needs one and HEARTH_PASSPHRASE is not set.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/error.h"

namespace hearth::cli {
namespace {

// One line from the terminal with echo off; '' when stdin is not a terminal.
std::string read_hidden(const char* prompt) {
  if (!::isatty(STDIN_FILENO)) return {};
  std::fprintf(stderr, "%s", prompt);
  std::fflush(stderr);
  termios old {};
  const bool saved = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (saved) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (saved) ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::fprintf(stderr, "\n");
  return line;
}

void show_status() {
  db::Database db = open_accounts_database();
  const db::EncryptionStatus s = db::Encryption(db).status();
  if (s.key_kind == "file")
    std::printf("master key: key file %s\n", s.key_file.c_str());
  else
    std::printf("master key: derived from a passphrase (argon2id)\n");
  std::printf("user keys:  %lld wrapped by it\n", static_cast<long long>(s.user_keys));
  std::printf("since:      %s\n", db::format_time(s.created_at).c_str());
  std::printf("rotated:    %s\n", s.rotated_at ? db::format_time(*s.rotated_at).c_str() : "never");
}

void rotate(bool passphrase) {
  db::Database db = open_accounts_database();
  std::string next;
  if (passphrase) {
    next = read_hidden("new passphrase: ");
    if (next.empty())
      throw Error(ErrorKind::invalid_input,
                  "--passphrase asks for the new passphrase on a terminal, and none was given");
    if (read_hidden("again: ") != next)
      throw Error(ErrorKind::invalid_input, "the two passphrases differ; nothing was changed");
  }
  db::Encryption(db).rotate(next);
  const db::EncryptionStatus s = db::Encryption(db).status();
  std::printf("rotated: %lld user keys are now wrapped by the new master key", 
              static_cast<long long>(s.user_keys));
  if (passphrase)
    std::printf(" (from the passphrase; set HEARTH_PASSPHRASE or type it at start)\n");
  else
    std::printf(" in %s (the old one is kept as %s.old until you remove it)\n",
                s.key_file.c_str(), s.key_file.c_str());
}

}  // namespace

void register_keys(CLI::App& app) {
  db::set_passphrase_prompt([] { return read_hidden("hearth passphrase: "); });
  CLI::App* keys = app.add_subcommand("keys", "the master key that encrypts users' data at rest");
  keys->require_subcommand(1);
  keys->add_subcommand("status", "how the master key is kept and how many user keys it wraps")
      ->callback(show_status);
  auto* r = keys->add_subcommand(
      "rotate", "a new master key; every user key is re-wrapped, the data stays as it is");
  static bool passphrase = false;
  r->add_flag("--passphrase", passphrase,
              "derive the new key from a passphrase typed now (argon2id) instead of a key file");
  r->callback([] { rotate(passphrase); });
}

}  // namespace hearth::cli
