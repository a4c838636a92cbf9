// `hearth synth --shape SHAPE --type T -o FILE [--arch llama|qwen2] [--vocab VOCAB.gguf]
//               [--seed S] [--force] [--threads N] [--dry-run]`
// writes a model with a real model's shape and seeded random weights (engine/quantize/synth.h):
// for benchmarks and tests, never for text. --dry-run prints the plan (metadata summary and every
// tensor's name, type, shape and bytes, like `hearth inspect --json`) as JSON and writes nothing.
#include <boost/json.hpp>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/json_text.h"
#include "engine/quantize/synth.h"

namespace hearth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct SynthArgs {
  std::string arch, shape, type = "F16", out, vocab;
  uint64_t seed = 1;
  bool force = false, dry_run = false;
  size_t threads = 0;
};

void print_plan(const quantize::SynthPlan& plan) {
  json::object j;
  j["arch"] = plan.arch;
  j["shape"] = plan.shape->name;
  j["type"] = plan.preset->name;
  j["file_type"] = plan.preset->file_type;
  j["seed"] = plan.seed;
  j["n_vocab"] = plan.n_vocab;
  j["file_size"] = plan.file_size;
  j["parameter_count"] = plan.parameter_count;
  j["tensor_count"] = plan.tensors.size();
  json::object md;
  for (const auto& [key, v] : plan.metadata) {
    if (v.type == gguf::ValueType::array) {
      md[key] = json::object{{"array", gguf::value_type_name(v.element_type)},
                             {"count", v.items.size()}};
    } else if (v.type == gguf::ValueType::string) {
      md[key] = v.s;
    } else if (v.is_float()) {
      md[key] = v.f;
    } else if (v.type == gguf::ValueType::boolean) {
      md[key] = v.u != 0;
    } else if (v.type == gguf::ValueType::i8 || v.type == gguf::ValueType::i16 ||
               v.type == gguf::ValueType::i32 || v.type == gguf::ValueType::i64) {
      md[key] = v.i;
    } else {
      md[key] = v.u;
    }
  }
  j["metadata"] = std::move(md);
  json::array tensors;
  for (const auto& t : plan.tensors) {
    tensors.push_back(json::object{{"name", t.name},
                                   {"type", gguf::tensor_type_name(t.type)},
                                   {"shape", json::value_from(t.ne)},
                                   {"bytes", gguf::tensor_bytes(t.type, t.ne)}});
  }
  j["tensors"] = std::move(tensors);
  std::printf("%s\n", format_json(j, 1).c_str());
}

void run_synth(const SynthArgs& a) {
  quantize::SynthOptions o;
  o.arch = a.arch;
  o.shape = a.shape;
  o.preset = a.type;
  o.seed = a.seed;
  if (!a.vocab.empty()) {
    std::error_code ec;
    if (!fs::exists(a.vocab, ec)) throw Error(ErrorKind::not_found, a.vocab + ": no such file");
    o.vocab = a.vocab;
  }
  const quantize::SynthPlan plan = quantize::plan_synth(o);
  for (const std::string& note : plan.notes) std::fprintf(stderr, "note: %s\n", note.c_str());
  if (a.dry_run) {
    print_plan(plan);
    return;
  }
  if (a.out.empty()) throw Error(ErrorKind::invalid_input, "give the output file with -o FILE");
  std::error_code ec;
  if (fs::exists(a.out, ec) && !a.force)
    throw Error(ErrorKind::conflict, a.out + " already exists; pass --force to replace it");
  const auto start = std::chrono::steady_clock::now();
  std::fprintf(stderr, "writing %s: %s shape, arch %s, %s, seed %" PRIu64 ", %.2f GiB\n",
               a.out.c_str(), std::string(plan.shape->name).c_str(), plan.arch.c_str(),
               std::string(plan.preset->name).c_str(), plan.seed,
               static_cast<double>(plan.file_size) / (1u << 30));
  const uint64_t size = quantize::write_synth(
      plan, a.out,
      [](const quantize::TensorProgress& p) {
        std::fprintf(stderr, "[%4zu/%4zu] %-28s %-6s %.2f MiB\n", p.index + 1, p.count,
                     std::string(p.name).c_str(), std::string(gguf::tensor_type_name(p.to)).c_str(),
                     static_cast<double>(p.bytes_out) / (1 << 20));
      },
      a.threads);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr, "wrote %s: %" PRIu64 " bytes in %.1f s (random weights)\n", a.out.c_str(),
               size, secs);
}

}  // namespace

void register_synth(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "synth", "write a model file with a real model's shape and seeded random weights");
  static SynthArgs args;
  cmd->add_option("--shape", args.shape, "shape: " + quantize::synth_shape_names())->required();
  cmd->add_option("--arch", args.arch, "llama or qwen2 (default: the shape's)");
  cmd->add_option("--type", args.type, "preset (as hearth quantize; default F16)");
  cmd->add_option("-o,--output", args.out, "file to write");
  cmd->add_option("--vocab", args.vocab, "take the tokenizer (and vocabulary size) from this GGUF");
  cmd->add_option("--seed", args.seed, "random seed (default 1)");
  cmd->add_flag("--force", args.force, "replace the output file if it exists");
  cmd->add_option("--threads", args.threads, "worker threads (default: one per core)");
  cmd->add_flag("--dry-run", args.dry_run, "print the plan as JSON, write nothing");
  cmd->callback([] { run_synth(args); });
}

}  // namespace hearth::cli
