// The schema's versioned migrations (the list lives in migrations.cpp).
#pragma once

#include <soci/soci.h>

#include "db/db.h"

namespace hearth::db::detail {

int latest_version();
// The highest version recorded in schema_migrations (the table must exist).
int applied_version(soci::session& sql);
// Brings the schema up to `target` (0: the latest), one transaction per migration.
// Error(unsupported) when the database already has a version this build does not know.
void migrate(Database::Impl& db, int target);

}  // namespace hearth::db::detail
