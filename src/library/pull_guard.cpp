// See pull_guard.h.
#include "library/pull_guard.h"

#include "core/config.h"
#include "core/log.h"
#include "library/library_pull.h"

namespace hearth::library {

std::shared_ptr<const store::AddressPolicy> pull_address_policy(const PullPlan& plan,
                                                                const PullOptions& options) {
  if (!options.through_api || !plan.user_url) return nullptr;
  if (config::get("HEARTH_ALLOW_PRIVATE_URLS") == "1") return nullptr;
  return store::AddressPolicy::public_only();
}

Error shown_pull_error(const Error& error, const PullOptions& options) {
  if (!options.through_api) return error;
  switch (error.kind()) {
    case ErrorKind::io:
      spdlog::warn("pull: {}", error.what());
      return Error(error.kind(),
                   "the server could not store the model (an I/O error; the details are in the "
                   "server's log)");
    case ErrorKind::internal:
      spdlog::error("pull: {}", error.what());
      return Error(error.kind(),
                   "the pull failed inside the server (the details are in the "
                   "server's log)");
    default:
      // Paths of the server's files are taken out where every error is answered
      // (public_message, json_util.h).
      return error;
  }
}

}  // namespace hearth::library
