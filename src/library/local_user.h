// The implicit local user: the machine's owner. The `hearth` command acts for them unless given
// `--user NAME`, and a server without named users runs every request as them (server/auth.h).
// Their names are the plain manifests/ space of the store (store.h).
//
// The user is a row of the users table named "local", made on first use; the name is reserved
// (`hearth user add local` is refused).
#pragma once

#include <cstdint>
#include <string_view>

#include "db/db.h"

namespace hearth::library {

inline constexpr std::string_view kLocalUser = "local";

// The implicit local user's id (created when missing).
std::int64_t local_user_id(const db::Database& db);

}  // namespace hearth::library
