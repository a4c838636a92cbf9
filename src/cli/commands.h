// The `hearth` command: one file per subcommand, each registering itself on the CLI11 app.
// A subcommand's callback does its work and throws hearth::Error on failure; main() prints the
// message and maps the kind to the exit code. Output for people goes to stdout, diagnostics to
// stderr.
#pragma once

#include <CLI/CLI.hpp>

namespace hearth::cli {

void register_inspect(CLI::App& app);      // inspect.cpp
void register_tokenize(CLI::App& app);     // tokenize.cpp: tokenize and detokenize
void register_bench(CLI::App& app);        // bench.cpp
void register_run(CLI::App& app);          // run.cpp: chat with a model
void register_generate(CLI::App& app);     // generate.cpp: logits and generate
void register_help_config(CLI::App& app);  // help_config.cpp
void register_hw(CLI::App& app);           // hw.cpp: this machine's hardware
void register_catalog(CLI::App& app);      // catalog.cpp: curated models and their fit
void register_quantize(CLI::App& app);     // quantize.cpp: llama-quantize presets
void register_merge(CLI::App& app);        // merge.cpp: LoRA adapters folded into a model
void register_synth(CLI::App& app);        // synth.cpp: random-weight models of real shapes
void register_pull(CLI::App& app);         // pull.cpp: download or import a model
void register_library(CLI::App& app);      // library.cpp: list, show, rm, cp and ps
void register_serve(CLI::App& app);        // serve.cpp: the HTTP API server
void register_agent(CLI::App& app);        // agent.cpp: connect this machine to a hub
void register_user(CLI::App& app);         // user.cpp: add and list users
void register_token(CLI::App& app);        // token.cpp: create, list and revoke API keys
void register_audit(CLI::App& app);        // audit.cpp: the audit log
void register_data(CLI::App& app);         // data.cpp: export and validate training data
void register_train(CLI::App& app);        // train.cpp: LoRA fine-tuning
void register_jobs(CLI::App& app);         // jobs.cpp: the server's training jobs
void register_remote(CLI::App& app);       // remote.cpp: remote engines chats are routed to
void register_adapter(CLI::App& app);      // adapter.cpp: export a version's adapter
void register_keys(CLI::App& app);         // keys.cpp: the master key (status, rotate)
void register_backup(CLI::App& app);       // backup.cpp: the database and user files in one file
void register_restore(CLI::App& app);      // restore.cpp: a backup back into a HEARTH_HOME

// Thrown by a subcommand that has printed its own message and must end with this exit code
// (e.g. 130 after Ctrl-C); main() returns the code.
struct ExitStatus {
  int code = 1;
};

}  // namespace hearth::cli
