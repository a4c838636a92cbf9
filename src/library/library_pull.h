// Installing a model: the steps `hearth pull` and the server's POST /api/pull share.
//
// A reference is a catalog name (`id[:tag]`), `hf://owner/repo/file.gguf`, an http(s) URL, or a
// local GGUF file (imported: copied into the store, as a reflink where the file system offers
// one, so that later changes to the file cannot change the installed model). The installed name is the catalog's `id:tag`, else the file's stem (lower-cased,
// sanitized) with the tag `latest`; PullOptions::name chooses another.
//
// Before anything is fetched the fit (memory at n_ctx tokens; catalog models and local files) and
// the free disk are checked; a model that will not fit is refused (Error(out_of_memory)) with the
// reasons unless `force`. An unreachable host fails fast (unavailable) and a missing file with
// not_found, both before a database row is made. A download must be a readable GGUF before a
// manifest is written (else Error(invalid_input), the blob deleted).
//
// A pull asked for through the HTTP API (PullOptions::through_api) is limited as pull_guard.h
// says: a URL may reach only public addresses, and errors name no file of the server.
//
// Once the manifest is written, the model is checked (pull_check.h: loaded, a few tokens
// generated; the "checking the model" status) and its speed stored as the row's performance
// score. A model that fails the check keeps its files (so that `hearth rm` can clean up), its row
// is marked failed, and the error says how to remove it.
//
// The user's database row (library_db.h) goes pending → downloading (progress kept current, at
// most once a second) → verifying → installed, or failed with the error's message. An install
// is written to the user's audit log ("pull", with the reference and the source).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "catalog/catalog.h"
#include "db/db.h"
#include "hardware/hardware.h"
#include "library/library.h"
#include "library/library_db.h"
#include "store/progress.h"
#include "store/store.h"

namespace hearth::library {

struct PullOptions {
  std::string name;  // install under this name[:tag]; empty: derived from the reference
  bool force = false;
  uint32_t n_ctx = catalog::kDefaultContext;  // the context the fit check assumes
  bool through_api = false;  // asked for through the HTTP API, not by the owner (pull_guard.h)
};

// What to install and where from.
struct PullPlan {
  std::string url;                  // empty for a local file
  std::filesystem::path local_file; // set for a local file
  std::string sha256;               // expected digest (hex); empty when unknown
  std::uint64_t size = 0;           // bytes; 0 when unknown
  std::string full_name;            // "name:tag"
  std::string model_id;             // the database's model_id: catalog id, URL or import's name
  std::optional<catalog::ModelFit> fit;  // when the model's shape is known before downloading
  bool user_url = false;            // the reference was an http(s) URL (not catalog or hf://)
  bool is_local_file() const { return url.empty(); }
};

// Resolves the reference (cheap: no network). `machine` null: no fit estimate.
// Error(invalid_input / not_found) for a bad reference or an unknown catalog name.
PullPlan make_pull_plan(std::string_view ref, const PullOptions& options,
                        const catalog::Catalog& catalog, const hardware::MachineInfo* machine);

// How a caller watches (and steers) a pull; every member may be left empty.
struct PullHooks {
  std::function<void(const std::string&)> note;             // a line for people (CLI: stderr)
  std::function<void(const store::Progress&)> progress;     // raw download progress (CLI: bar)
  std::function<void(const PullProgressEvent&)> event;      // Ollama's /api/pull statuses
  std::function<void(const db::PersonalModel&)> row_ready;  // the row exists (before fetching)
  const store::CancelToken* cancel = nullptr;
  // Called as the check after the download begins (pull_check.h); from then on the pull can no
  // longer be cancelled (CLI: Ctrl-C ends the process again).
  std::function<void()> checking;
};

struct PullResult {
  enum class Outcome { installed, already_installed, cancelled };
  Outcome outcome = Outcome::installed;
  std::string full_name;
  store::Manifest manifest;               // installed / already_installed
  std::optional<db::PersonalModel> row;   // as it ended
  std::optional<double> performance_score;
};

// Runs the whole pull for `library`'s user. Blocking; cancelled leaves the partial download for
// the next pull to resume.
PullResult pull_model(store::Store& store, LibraryDb& library, std::string_view ref,
                      const PullOptions& options, const PullHooks& hooks);

// Deletes a blob no manifest names (a download that turned out not to be a model, or weights a
// re-pulled name no longer uses).
void drop_unused_blob(const store::Store& store, const std::string& digest);

}  // namespace hearth::library
