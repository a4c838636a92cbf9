// See pull_guard.h.
#include "server/pull_guard.h"

#include "core/config.h"
#include "core/log.h"
#include "server/library_pull.h"

namespace hearth::server {
namespace {

void replace_all(std::string& text, const std::string& what, const std::string& with) {
  if (what.empty()) return;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size()))
    text.replace(at, what.size(), with);
}

}  // namespace

std::shared_ptr<const store::AddressPolicy> pull_address_policy(const PullPlan& plan,
                                                                const PullOptions& options) {
  if (!options.through_api || !plan.user_url) return nullptr;
  if (config::get("HEARTH_ALLOW_PRIVATE_URLS") == "1") return nullptr;
  return store::AddressPolicy::public_only();
}

Error shown_pull_error(const Error& error, const PullOptions& options, const store::Store& store) {
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
    default: {
      std::string message = error.what();
      const auto home = store.blobs_dir().parent_path();
      replace_all(message, store.blobs_dir().string(), "the model store");
      replace_all(message, home.string(), "the model store");
      return Error(error.kind(), message);
    }
  }
}

}  // namespace hearth::server
