// `hearth pull --verify NAME`: re-hashes an installed model's blobs against their digests
// (library::verify_blobs, library/installed.h).
//
// Prints one line per blob ("ok" or "corrupt: ... hashes to sha256:..."), then the verdict. When
// every blob is intact their stamps (store/blob_stamp.h) are recorded afresh, so a model refused
// at load only because its file's modification time changed (a backup restore, a `touch`) loads
// again. A corrupt model stays as it is and the command exits with 1, saying how to replace it.
// Error(not_found) when NAME is not installed.
#pragma once

#include <string>

namespace hearth::cli {

void verify_installed_model(const std::string& name);

}  // namespace hearth::cli
