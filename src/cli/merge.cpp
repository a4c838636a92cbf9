// `hearth merge BASE ADAPTER[:SCALE]... -o OUT.gguf [--type PRESET] [--force] [--threads N]`:
// a full model with LoRA adapters folded into its weights (engine/quantize/merge.h), written in
// the base's own tensor types unless --type names a llama-quantize preset, atomically. The
// adapters are checked against the base first (architecture, tensor names, shapes). One progress
// line per tensor goes to stderr.
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/model_session.h"
#include "core/error.h"
#include "engine/quantize/merge.h"

namespace hearth::cli {
namespace {

namespace fs = std::filesystem;

void run_merge(const std::string& base, const std::vector<std::string>& adapter_args,
               const std::string& out, const std::string& type, bool force, size_t threads) {
  const quantize::Preset* preset = nullptr;
  if (!type.empty()) {
    preset = quantize::find_preset(type);
    if (preset == nullptr)
      throw Error(ErrorKind::invalid_input,
                  "unknown type '" + type + "'; supported: " + quantize::preset_names());
  }
  std::error_code ec;
  if (!fs::exists(base, ec)) throw Error(ErrorKind::not_found, base + ": no such file");
  std::vector<std::pair<fs::path, float>> adapters;
  for (const auto& arg : adapter_args) {
    const generate::LoraFile f = parse_lora_option(arg);
    if (!fs::exists(f.path, ec)) throw Error(ErrorKind::not_found, f.path + ": no such file");
    if (fs::equivalent(f.path, out, ec))
      throw Error(ErrorKind::invalid_input, "the output would overwrite the adapter " + f.path);
    adapters.emplace_back(f.path, f.scale);
  }
  if (fs::exists(out, ec)) {
    if (fs::equivalent(base, out, ec))
      throw Error(ErrorKind::invalid_input, "the output would overwrite the base " + base);
    if (!force)
      throw Error(ErrorKind::conflict, out + " already exists; pass --force to replace it");
  }
  quantize::QuantizeCallbacks cb;
  cb.on_warning = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
  cb.on_tensor = [](const quantize::TensorProgress& p) {
    if (!p.converted) return;
    std::fprintf(stderr, "[%4zu/%4zu] %-36s %s -> %s\n", p.index + 1, p.count,
                 std::string(p.name).c_str(), std::string(gguf::tensor_type_name(p.from)).c_str(),
                 std::string(gguf::tensor_type_name(p.to)).c_str());
  };
  const quantize::QuantizeSummary s =
      quantize::merge_adapters(base, adapters, out, preset, cb, threads);
  std::fprintf(stderr, "merged %zu adapter%s into %s -> %s: %zu tensors rewritten, %zu copied; "
                       "file %" PRIu64 " bytes\n",
               adapters.size(), adapters.size() == 1 ? "" : "s", base.c_str(), out.c_str(),
               s.n_converted, s.n_copied, s.file_size);
}

}  // namespace

void register_merge(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "merge", "fold LoRA adapters into a model: a full GGUF model that needs no adapter");
  static std::string base, out, type;
  static std::vector<std::string> adapters;
  static bool force = false;
  static size_t threads = 0;
  cmd->add_option("base", base, "the model the adapters were trained on (GGUF)")->required();
  cmd->add_option("adapter", adapters,
                  "LoRA adapter ADAPTER.gguf[:SCALE] (llama.cpp's format; SCALE defaults to 1.0)")
      ->required();
  cmd->add_option("-o,--output", out, "file to write (GGUF)")->required();
  cmd->add_option("--type", type,
                  "write with this llama-quantize preset (" + quantize::preset_names() +
                      "); default: every tensor in the base's own type");
  cmd->add_flag("--force", force, "replace the output file if it exists");
  cmd->add_option("--threads", threads, "worker threads (default: one per core)");
  cmd->callback([] { run_merge(base, adapters, out, type, force, threads); });
}

}  // namespace hearth::cli
