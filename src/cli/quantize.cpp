// `hearth quantize IN.gguf OUT.gguf TYPE [--force] [--threads N]`: hearth's own llama-quantize.
// TYPE is a preset (Q4_K_M, Q8_0, ... — `hearth quantize --help` lists them); tensors get the
// preset's per-tensor types exactly as llama-quantize chooses them (no importance matrix), the
// metadata is kept with general.file_type updated, and OUT is written atomically and streamed
// (tensor by tensor, a chunk of rows at a time). F32/F16/BF16 inputs are the normal case; other
// types are decoded first, with a warning. One progress line per tensor goes to stderr.
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "engine/quantize/model_quantizer.h"

namespace hearth::cli {
namespace {

namespace fs = std::filesystem;

std::string shape_text(const std::vector<int64_t>& ne) {
  std::string s;
  for (int64_t d : ne) s += (s.empty() ? "" : " x ") + std::to_string(d);
  return s;
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

void run_quantize(const std::string& in, const std::string& out, const std::string& type,
                  bool force, size_t threads) {
  const quantize::Preset* preset = quantize::find_preset(type);
  if (preset == nullptr)
    throw Error(ErrorKind::invalid_input,
                "unknown type '" + type + "'; supported: " + quantize::preset_names());
  std::error_code ec;
  if (!fs::exists(in, ec)) throw Error(ErrorKind::not_found, in + ": no such file");
  if (fs::exists(out, ec)) {
    if (fs::equivalent(in, out, ec))
      throw Error(ErrorKind::invalid_input, "the output would overwrite the input " + in);
    if (!force)
      throw Error(ErrorKind::conflict, out + " already exists; pass --force to replace it");
  }
  quantize::QuantizeCallbacks cb;
  cb.on_warning = [](const std::string& w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
  cb.on_tensor = [](const quantize::TensorProgress& p) {
    std::fprintf(stderr, "[%4zu/%4zu] %-36s [%s] %s -> %s, %.2f MiB -> %.2f MiB%s\n", p.index + 1,
                 p.count, std::string(p.name).c_str(), shape_text(p.ne).c_str(),
                 std::string(gguf::tensor_type_name(p.from)).c_str(),
                 std::string(gguf::tensor_type_name(p.to)).c_str(), mib(p.bytes_in),
                 mib(p.bytes_out), p.converted ? "" : " (copied)");
  };
  const quantize::QuantizeSummary s = quantize::quantize_file(in, out, *preset, cb, threads);
  std::fprintf(stderr,
               "quantized %s -> %s (%s): %zu tensors converted, %zu copied; tensor data "
               "%.2f MiB -> %.2f MiB; file %" PRIu64 " bytes\n",
               in.c_str(), out.c_str(), std::string(preset->name).c_str(), s.n_converted,
               s.n_copied, mib(s.bytes_in), mib(s.bytes_out), s.file_size);
}

}  // namespace

void register_quantize(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "quantize", "quantize a GGUF model file (F32/F16/BF16 input) with a llama-quantize preset");
  static std::string in, out, type;
  static bool force = false;
  static size_t threads = 0;
  cmd->add_option("input", in, "model to read (GGUF)")->required();
  cmd->add_option("output", out, "file to write (GGUF)")->required();
  cmd->add_option("type", type, "preset: " + quantize::preset_names())->required();
  cmd->add_flag("--force", force, "replace the output file if it exists");
  cmd->add_option("--threads", threads, "worker threads (default: one per core)");
  cmd->callback([] { run_quantize(in, out, type, force, threads); });
}

}  // namespace hearth::cli
