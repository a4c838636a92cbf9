// `hearth adapter export NAME -o FILE [--user NAME]`: a plain copy of a fine-tuned version's LoRA
// adapter (GGUF, the format llama.cpp's --lora and an Ollama Modelfile's ADAPTER read). Adapters
// are kept sealed under HEARTH_HOME; this is the one way to get a plain one, where the user asks.
#include <cstdio>
#include <string>

#include "cli/accounts.h"
#include "cli/commands.h"
#include "core/error.h"
#include "crypto/sealed_file.h"
#include "library/library.h"
#include "library/local_user.h"
#include "store/store.h"

namespace hearth::cli {
namespace {

struct AdapterExport {
  std::string name;
  std::string out;
  std::string user;
};

void export_adapter(const AdapterExport& o) {
  db::Database db = open_accounts_database();
  const std::int64_t user =
      o.user.empty() ? library::local_user_id(db) : require_user(db, o.user).id;
  store::Store store = store::Store::open_default();
  library::Library lib(store, db);
  const library::ResolvedModel r = lib.resolve(user, o.name);
  if (r.adapters.empty())
    throw Error(ErrorKind::not_found,
                "'" + o.name + "' serves no adapter of its own (the base model, or a version "
                "trained by a remote API); name a fine-tuned version such as NAME@v1");
  crypto::write_plain_copy(r.adapters.front(), o.out);
  std::printf("wrote %s (a LoRA adapter for %s; llama.cpp: --lora, Ollama: ADAPTER)\n",
              o.out.c_str(), r.name.c_str());
}

}  // namespace

void register_adapter(CLI::App& app) {
  CLI::App* adapter = app.add_subcommand("adapter", "fine-tuned adapters");
  adapter->require_subcommand(1);
  static AdapterExport o;
  auto* ex = adapter->add_subcommand(
      "export", "write a version's LoRA adapter as a plain GGUF file for other tools");
  ex->add_option("name", o.name, "a personal model (its served version) or NAME@vN")->required();
  ex->add_option("-o,--out", o.out, "the file to write")->required();
  ex->add_option("--user", o.user, "whose model (default: the local user)");
  ex->callback([] { export_adapter(o); });
}

}  // namespace hearth::cli
