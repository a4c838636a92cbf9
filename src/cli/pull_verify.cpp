// See pull_verify.h.
#include "cli/pull_verify.h"

#include <cstdio>

#include "cli/commands.h"
#include "cli/model_resolve.h"
#include "core/error.h"
#include "core/sha256.h"
#include "store/blob_stamp.h"
#include "store/store.h"

namespace hearth::cli {

void verify_installed_model(const std::string& name) {
  store::Store store = open_store();
  const std::optional<store::Manifest> manifest = store.find(name);
  if (!manifest)
    throw Error(ErrorKind::not_found,
                "model '" + name + "' is not installed; " + installed_models_hint(store));
  const std::string full = manifest->full_name();
  std::fprintf(stderr, "verifying %s: hashing %s\n", full.c_str(),
               store::format_bytes(manifest->total_size()).c_str());
  bool intact = true;
  for (const auto& blob : manifest->blobs) {
    const auto path = store.blob_path(blob.digest);
    const std::string expected = store::digest_hex(blob.digest);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
      std::printf("%s  missing\n", blob.digest.c_str());
      intact = false;
      continue;
    }
    const std::string actual = sha256_file_hex(path);
    if (actual == expected) {
      std::printf("%s  ok\n", blob.digest.c_str());
    } else {
      std::printf("%s  corrupt: its file now hashes to sha256:%s\n", blob.digest.c_str(),
                  actual.c_str());
      intact = false;
    }
  }
  if (!intact) {
    std::printf("%s is corrupt; remove it with `hearth rm %s` and pull it again\n", full.c_str(),
                full.c_str());
    throw ExitStatus{1};
  }
  for (const auto& blob : manifest->blobs) store::record_blob_stamp(store.blob_path(blob.digest));
  std::printf("%s is intact\n", full.c_str());
}

}  // namespace hearth::cli
