// The `hearth` command's side of the library: the installed models of the user the command acts
// for (library_db.h: the machine's owner unless `--user NAME`), through the store directly. The
// database is best effort here: a model is removed, copied or verified even when its rows cannot
// be written (a warning goes to the log), because the files are what the command's user sees.
// The server goes through Library (library.h) instead, where the rows are part of every answer.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.h"

namespace hearth::library {

// The store at paths::home(), seen through the names of the CLI's user.
store::Store open_cli_store();

// "no models installed; try hearth pull fast-assistant" or "installed models: a:b, c:d".
std::string installed_models_hint(const store::Store& store);

// The weights of an installed model: its first blob of media type "model". Error(corrupt_file)
// when the manifest names none or the file is missing.
std::filesystem::path model_blob_path(const store::Store& store, const store::Manifest& manifest);

// Counts a use of an installed model in its row (usage_count); best effort.
void record_use(const std::string& full_name);

struct Removal {
  std::string full_name;
  bool unfinished = false;  // there was no model, only the row of a pull that never finished
};
// Removes an installed model: its manifest, every blob no other name uses, its row and its
// failure message (audited as "delete"); or, when no model has that name, the row of a pull that
// never finished. Error(not_found) "model 'x' is not installed; <hint>" when there is neither.
Removal remove_installed(store::Store& store, const std::string& name);

struct Copied {
  std::string from, to;  // full names ("name:tag")
};
// Installs `src` under the name `dst` too (the blobs are shared), with a row copied from src's
// (audited as "copy"). Error(not_found) when src is not installed.
Copied copy_installed(store::Store& store, const std::string& src, const std::string& dst);

// `hearth pull --verify`: an installed model's blobs hashed again against their digests.
struct BlobVerdict {
  enum class State { ok, missing, corrupt };
  std::string digest;      // "sha256:<hex>", as the manifest names it
  State state = State::ok;
  std::string actual_hex;  // what a corrupt blob's file hashes to now
};
// Hashes every blob of `manifest`. When all are intact their stamps (store/blob_stamp.h) are
// recorded afresh, so a model refused at load only because its file's modification time changed
// (a backup restore, a `touch`) loads again; a corrupt model is left as it is.
std::vector<BlobVerdict> verify_blobs(const store::Store& store, const store::Manifest& manifest);

}  // namespace hearth::library
