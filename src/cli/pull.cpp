// `hearth pull REF [--name NAME] [--force] [--ctx N]`: installs a model.
// `hearth pull --verify NAME`: re-hashes an installed model (pull_verify.h).
//
// REF is a catalog name (`id[:tag]`), `hf://owner/repo/file.gguf`, an http(s) URL, or a local GGUF
// file (imported: copied into the store, a reflink where the file system offers one). The
// installed name is the catalog's `id:tag`, else the file's stem (lower-cased, sanitized) with the
// tag `latest`; --name chooses another.
//
// Before anything is fetched the fit (memory at --ctx tokens; catalog models and local files) and
// the free disk are checked; a model that will not fit is refused with the reasons unless --force.
// A download shows a progress bar on a terminal and plain lines otherwise (on stderr); Ctrl-C
// pauses it ("run the same command to resume", exit 130). The file must be a readable GGUF before
// a manifest is written; then the model is loaded, generates a few tokens, and its speed is stored
// as its performance score. A model that fails that check is marked failed (its files stay so that
// `hearth rm` can clean up) and the command fails.
//
// The steps, the post-pull check included, live in library/library_pull.h (shared with POST
// /api/pull); this file adds the terminal: the progress bar and Ctrl-C. The database row goes
// pending → downloading (progress kept current, at most once a second) → verifying → installed,
// or failed with the error.
#include <csignal>
#include <cstdio>
#include <string>

#include "catalog/catalog.h"
#include "cli/commands.h"
#include "cli/model_resolve.h"
#include "cli/pull_verify.h"
#include "core/error.h"
#include "library/installed.h"
#include "library/library_db.h"
#include "library/library_pull.h"
#include "store/download.h"
#include "store/progress.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

struct PullArgs {
  std::string ref;
  std::string name;
  bool force = false;
  bool verify = false;
  uint32_t n_ctx = catalog::kDefaultContext;
};

// --- Ctrl-C --------------------------------------------------------------------------------

store::CancelToken* g_cancel = nullptr;
// Ctrl-C pauses a download; a second one (an import cannot be paused) or one during the post-pull
// check (g_cancel is cleared then) ends the process as usual.
extern "C" void on_interrupt(int sig) {
  if (g_cancel != nullptr && !g_cancel->cancelled()) {
    g_cancel->cancel();
    return;
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

class InterruptGuard {
 public:
  explicit InterruptGuard(store::CancelToken& token) {
    g_cancel = &token;
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    g_cancel = nullptr;
  }
  InterruptGuard(const InterruptGuard&) = delete;
  InterruptGuard& operator=(const InterruptGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// --- the pull ------------------------------------------------------------------------------

void pull(const PullArgs& args) {
  store::Store store = library::open_cli_store();
  library::LibraryDb library;
  library::PullOptions options;
  options.name = args.name;
  options.force = args.force;
  options.n_ctx = args.n_ctx;

  store::ProgressPrinter printer = store::ProgressPrinter::for_stream(stderr);
  store::CancelToken cancel;
  library::PullHooks hooks;
  hooks.note = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  hooks.progress = [&printer](const store::Progress& p) { printer.show(p); };
  hooks.cancel = &cancel;
  hooks.checking = [] { g_cancel = nullptr; };  // nothing to pause any more

  library::PullResult result;
  {
    InterruptGuard guard(cancel);
    result = library::pull_model(store, library, args.ref, options, hooks);
  }
  using Outcome = library::PullResult::Outcome;
  if (result.outcome == Outcome::cancelled) {
    std::fprintf(stderr, "\ndownload paused; run the same command to resume\n");
    throw ExitStatus{130};
  }
  if (result.outcome == Outcome::already_installed) {
    std::printf("%s is already installed", result.full_name.c_str());
    if (result.performance_score)
      std::printf(" (%.1f tokens/s on this machine)", *result.performance_score);
    std::printf("\n");
    return;
  }
  const auto& m = result.manifest;
  std::printf("%s installed (%s, %s): %.1f tokens/s on this machine\n", result.full_name.c_str(),
              m.blobs.front().digest.substr(7, 12).c_str(),
              store::format_bytes(m.total_size()).c_str(), result.performance_score.value_or(0));
}

}  // namespace

void register_pull(CLI::App& app) {
  static PullArgs args;
  auto* cmd = app.add_subcommand(
      "pull", "download a model (catalog name, hf://, URL) or import a GGUF file");
  cmd->add_option("model", args.ref,
                  "NAME[:TAG] from `hearth catalog`, hf://OWNER/REPO/FILE.gguf, an http(s) URL, "
                  "or a .gguf file")
      ->required();
  add_user_option(cmd);
  cmd->add_option("--name", args.name, "install under this name[:tag]");
  cmd->add_flag("--force", args.force, "pull even when the model will not fit this machine");
  cmd->add_flag("--verify", args.verify,
                "re-hash the installed model MODEL and report whether it is intact (nothing is "
                "downloaded)");
  cmd->add_option("--ctx", args.n_ctx, "context length the fit check assumes")
      ->check(CLI::Range(1u, 1u << 24));
  cmd->callback([] {
    if (args.verify)
      verify_installed_model(args.ref);
    else
      pull(args);
  });
}

}  // namespace hearth::cli
