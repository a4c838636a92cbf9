#include "cli/model_resolve.h"

#include <cctype>

#include "core/error.h"
#include "library/installed.h"
#include "library/library_db.h"
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

void add_user_option(CLI::App* command) {
  command
      ->add_option_function<std::string>(
          "--user", [](const std::string& name) { library::set_cli_user(name); },
          "act on this user's models (default: the machine's owner, 'local')")
      ->type_name("NAME");
}

ResolvedModel resolve_model(const std::string& text, bool record_use) {
  if (text.empty()) throw Error(ErrorKind::invalid_input, "no model given");
  std::error_code ec;
  if (std::filesystem::is_regular_file(text, ec)) return {text, std::nullopt, text};

  store::Store store = library::open_cli_store();
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
    r.path = library::model_blob_path(store, *manifest);
    r.display_name = manifest->full_name();
    r.manifest = std::move(manifest);
    if (record_use) library::record_use(r.display_name);
    return r;
  }
  if (looks_like_path(text) || (!valid_name && text.find('/') != std::string::npos))
    throw Error(ErrorKind::not_found, "model file '" + text + "' does not exist");
  throw Error(ErrorKind::not_found, "model '" + text + "' is not installed (and is not a file); " +
                                        library::installed_models_hint(store));
}

std::filesystem::path model_file_to_load(const std::string& text) {
  ResolvedModel r = resolve_model(text, /*record_use=*/true);
  if (r.manifest) store::check_blob_unchanged(r.path, r.display_name);
  return r.path;
}

}  // namespace hearth::cli
