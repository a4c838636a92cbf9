// The model library's database rows now live in the server module (server/library_db.h), shared
// by the CLI and the HTTP API; these names keep the CLI's callers unchanged.
#pragma once

#include "server/library_db.h"

namespace hearth::cli {

using server::LibraryDb;
using server::try_find_row;
using server::local_failure_message;
using server::clear_local_failure;

}  // namespace hearth::cli
