// Small pieces shared by `hearth user`, `hearth token` and `hearth audit` (user.cpp, token.cpp,
// audit.cpp): the database they all open and how they name users and times.
#pragma once

#include <string>

#include "core/config.h"
#include "core/error.h"
#include "db/db.h"

namespace hearth::cli {

inline db::Database open_accounts_database() {
  return db::Database::open(config::get("HEARTH_DB"));
}

// The user called `name`; Error(not_found) saying how to see or add users.
inline db::User require_user(const db::Database& db, const std::string& name) {
  if (auto user = db::Users(db).find_by_name(name)) return *user;
  throw Error(ErrorKind::not_found, "no user '" + name +
                                        "' (see `hearth user list`; add one with "
                                        "`hearth user add " +
                                        name + "`)");
}

// "2026-11-25 13:15" (UTC): minutes are enough in a table; --json has the full time.
inline std::string short_time(db::Timestamp t) {
  std::string text = db::format_time(t).substr(0, 16);
  text[10] = ' ';
  return text;
}

}  // namespace hearth::cli
