// See pull_verify.h.
#include "cli/pull_verify.h"

#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"
#include "library/installed.h"
#include "store/store.h"

namespace hearth::cli {

void verify_installed_model(const std::string& name) {
  store::Store store = library::open_cli_store();
  const std::optional<store::Manifest> manifest = store.find(name);
  if (!manifest)
    throw Error(ErrorKind::not_found,
                "model '" + name + "' is not installed; " + library::installed_models_hint(store));
  const std::string full = manifest->full_name();
  std::fprintf(stderr, "verifying %s: hashing %s\n", full.c_str(),
               store::format_bytes(manifest->total_size()).c_str());
  bool intact = true;
  for (const auto& blob : library::verify_blobs(store, *manifest)) {
    using State = library::BlobVerdict::State;
    if (blob.state == State::ok) {
      std::printf("%s  ok\n", blob.digest.c_str());
    } else if (blob.state == State::missing) {
      std::printf("%s  missing\n", blob.digest.c_str());
    } else {
      std::printf("%s  corrupt: its file now hashes to sha256:%s\n", blob.digest.c_str(),
                  blob.actual_hex.c_str());
    }
    intact = intact && blob.state == State::ok;
  }
  if (!intact) {
    std::printf("%s is corrupt; remove it with `hearth rm %s` and pull it again\n", full.c_str(),
                full.c_str());
    throw ExitStatus{1};
  }
  std::printf("%s is intact\n", full.c_str());
}

}  // namespace hearth::cli
