// Model arguments: every command that takes a model (run, generate, logits, show, ...) accepts
// either an installed model's name (`name[:tag]`, see store/store.h) or the path of a GGUF file.
//
// Resolution order: an existing regular file at that path wins; then an installed name; anything
// else is Error(not_found) listing the installed names (or suggesting `hearth pull` when none is
// installed). A text that looks like a path (has '/' with a '.gguf' ending, or starts with '/',
// './', '../' or '~') but names no file says so instead.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>
#include <string>

#include "store/store.h"

namespace hearth::cli {

struct ResolvedModel {
  std::filesystem::path path;               // the GGUF file to load
  std::optional<store::Manifest> manifest;  // set when `text` named an installed model
  std::string display_name;                 // "name:tag", or the path as given
};

// Adds `--user NAME` to a command that works on installed models (the machine's owner unless
// given; library/library_db.h). Their store is library::open_cli_store() (library/installed.h).
void add_user_option(CLI::App* command);

// See above. Error(not_found) / Error(invalid_input). With record_use, an installed model's use
// is counted in the database (usage_count; best effort: a database problem is only logged).
ResolvedModel resolve_model(const std::string& text, bool record_use = false);

// What `hearth run`, `generate`, `bench` ... load: resolve_model(text, record_use = true), and
// for an installed model the check that its blob is as installed (store/blob_stamp.h):
// Error(corrupt_file) "model 'x:latest' changed on disk since it was installed (...)".
std::filesystem::path model_file_to_load(const std::string& text);

}  // namespace hearth::cli
