#include "cli/model_resolve.h"

#include <cctype>

#include "library/library_db.h"
#include "core/error.h"
#include "core/log.h"
#include "core/paths.h"
#include "store/blob_stamp.h"

namespace hearth::cli {
namespace {

bool looks_like_path(const std::string& text) {
  auto ends_with = [&](std::string_view suffix) {
    if (text.size() < suffix.size()) return false;
    for (size_t i = 0; i < suffix.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(text[text.size() - suffix.size() + i])) !=
          suffix[i])
        return false;
    return true;
  };
  return ends_with(".gguf") || text.rfind('/', 0) == 0 || text.rfind("./", 0) == 0 ||
         text.rfind("../", 0) == 0 || text.rfind('~', 0) == 0;
}

}  // namespace

store::Store open_store() {
  return store::Store(paths::home(), {}, library::cli_space());
}

void add_user_option(CLI::App* command) {
  command
      ->add_option_function<std::string>(
          "--user", [](const std::string& name) { library::set_cli_user(name); },
          "act on this user's models (default: the machine's owner, 'local')")
      ->type_name("NAME");
}

std::string installed_models_hint(const store::Store& store) {
  std::string names;
  for (const auto& m : store.list()) names += (names.empty() ? "" : ", ") + m.full_name();
  if (names.empty()) return "no models installed; try hearth pull fast-assistant";
  return "installed models: " + names;
}

std::filesystem::path model_blob_path(const store::Store& store, const store::Manifest& manifest) {
  for (const auto& blob : manifest.blobs) {
    if (blob.media_type != "model") continue;
    auto path = store.blob_path(blob.digest);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
      throw Error(ErrorKind::corrupt_file, manifest.full_name() + ": its weights " + path.string() +
                                               " are missing; pull it again or hearth rm it");
    return path;
  }
  throw Error(ErrorKind::corrupt_file, manifest.full_name() + ": its manifest names no model file");
}

ResolvedModel resolve_model(const std::string& text, bool record_use) {
  if (text.empty()) throw Error(ErrorKind::invalid_input, "no model given");
  std::error_code ec;
  if (std::filesystem::is_regular_file(text, ec)) return {text, std::nullopt, text};

  store::Store store = open_store();
  std::optional<store::Manifest> manifest;
  bool valid_name = true;
  try {
    manifest = store.find(text);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_input) throw;  // a broken manifest: say so
    valid_name = false;
  }
  if (manifest) {
    ResolvedModel r;
    r.path = model_blob_path(store, *manifest);
    r.display_name = manifest->full_name();
    r.manifest = std::move(manifest);
    if (record_use) {
      try {
        library::LibraryDb library;
        if (auto row = library.find(r.display_name)) library.models().record_usage(row->id);
      } catch (const std::exception& e) {
        spdlog::warn("database: cannot count a use of {}: {}", r.display_name, e.what());
      }
    }
    return r;
  }
  if (looks_like_path(text) || (!valid_name && text.find('/') != std::string::npos))
    throw Error(ErrorKind::not_found, "model file '" + text + "' does not exist");
  throw Error(ErrorKind::not_found, "model '" + text + "' is not installed (and is not a file); " +
                                        installed_models_hint(store));
}

std::filesystem::path model_file_to_load(const std::string& text) {
  ResolvedModel r = resolve_model(text, /*record_use=*/true);
  if (r.manifest) store::check_blob_unchanged(r.path, r.display_name);
  return r.path;
}

}  // namespace hearth::cli
