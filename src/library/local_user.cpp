// See local_user.h.
#include "library/local_user.h"

#include <string>

#include "core/error.h"

namespace hearth::library {

std::int64_t local_user_id(const db::Database& db) {
  db::Users users(db);
  const std::string name(kLocalUser);
  if (auto user = users.find_by_name(name)) return user->id;
  try {
    return users.create(name, "", "").id;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::conflict) throw;
    // Another process (a CLI command beside the server) created it just now.
    if (auto user = users.find_by_name(name)) return user->id;
    throw;
  }
}

}  // namespace hearth::library
