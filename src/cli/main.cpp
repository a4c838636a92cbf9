#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/keyring.h"
#include "db/db.h"

namespace {

// Exit codes: 0 success, 1 operation failed, 2 bad usage or input, 3 not found.
int exit_code_for(hearth::ErrorKind kind) {
  switch (kind) {
    case hearth::ErrorKind::invalid_input:
    case hearth::ErrorKind::unsupported: return 2;
    case hearth::ErrorKind::not_found: return 3;
    default: return 1;
  }
}

// Edit distance, for "did you mean" (names are short).
size_t distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The first argument when it is neither an option nor a command: CLI11 would only say "A
// subcommand is required", which hides the typo.
std::optional<std::string> unknown_command(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return std::nullopt;
  const std::string given = argv[1];
  std::string closest;
  size_t best = 3;  // suggest only near misses
  for (const CLI::App* command : app.get_subcommands({})) {
    std::vector<std::string> names{command->get_name()};  // on a tie the name beats an alias
    for (const auto& alias : command->get_aliases()) names.push_back(alias);
    for (const auto& name : names) {
      if (name == given) return std::nullopt;
      if (const size_t d = distance(given, name); d < best) best = d, closest = name;
    }
  }
  std::string message = "unknown command '" + given + "'";
  if (!closest.empty()) message += "; did you mean '" + closest + "'?";
  return message + " (hearth --help lists the commands)";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hearth: run and shape open language models on your own machine"};
  app.set_version_flag("--version", std::string("hearth ") + HEARTH_VERSION);
  app.require_subcommand(1);
  hearth::cli::register_inspect(app);
  hearth::cli::register_tokenize(app);
  hearth::cli::register_run(app);
  hearth::cli::register_generate(app);
  hearth::cli::register_bench(app);
  hearth::cli::register_help_config(app);
  hearth::cli::register_hw(app);
  hearth::cli::register_catalog(app);
  hearth::cli::register_quantize(app);
  hearth::cli::register_merge(app);
  hearth::cli::register_synth(app);
  hearth::cli::register_pull(app);
  hearth::cli::register_library(app);
  hearth::cli::register_serve(app);
  hearth::cli::register_agent(app);
  hearth::cli::register_user(app);
  hearth::cli::register_token(app);
  hearth::cli::register_audit(app);
  hearth::cli::register_data(app);
  hearth::cli::register_train(app);
  hearth::cli::register_jobs(app);
  hearth::cli::register_remote(app);
  hearth::cli::register_keys(app);
  hearth::cli::register_adapter(app);
  hearth::cli::register_backup(app);
  hearth::cli::register_restore(app);
  if (const auto unknown = unknown_command(app, argc, argv)) {
    std::fprintf(stderr, "hearth: %s\n", unknown->c_str());
    return 2;
  }
  // A sealed file met by a command that has not opened the database (`hearth data validate`):
  // its keys are in the database, opened then.
  hearth::crypto::set_key_fallback([]() -> std::shared_ptr<void> {
    return std::make_shared<hearth::db::Database>(
        hearth::db::Database::open(hearth::config::get("HEARTH_DB")));
  });
  try {
    hearth::log::init_from_config();
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const hearth::cli::ExitStatus& e) {
    return e.code;
  } catch (const hearth::Error& e) {
    std::fprintf(stderr, "hearth: %s\n", e.what());
    return exit_code_for(e.kind());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hearth: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
