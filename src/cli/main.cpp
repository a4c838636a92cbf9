#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"

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
  hearth::cli::register_synth(app);
  hearth::cli::register_pull(app);
  hearth::cli::register_library(app);
  hearth::cli::register_serve(app);
  hearth::cli::register_user(app);
  hearth::cli::register_token(app);
  hearth::cli::register_audit(app);
  hearth::cli::register_data(app);
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
