// `hearth logits` and `hearth generate`: raw access to a model for checking it against
// reference outputs. The prompt is tokenized as the model's vocabulary says (BOS when add_bos),
// without parsing special-token text, and decoded in one pass.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>

#include "cli/commands.h"
#include "cli/model_session.h"
#include "core/error.h"

namespace hearth::cli {
namespace {

void print_top(std::span<const float> row, int n, int position) {
  std::vector<int32_t> ids(row.size());
  std::iota(ids.begin(), ids.end(), 0);
  const size_t k = std::min(ids.size(), static_cast<size_t>(n));
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(),
                    [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
  std::printf("%d:", position);
  for (size_t i = 0; i < k; ++i) std::printf(" %d=%.9g", ids[i], static_cast<double>(row[ids[i]]));
  std::printf("\n");
}

void write_floats(const std::string& path, std::span<const float> values) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size_bytes()));  // x86-64 is little-endian
  out.close();
  if (!out) throw Error(ErrorKind::io, path + ": cannot write the logits");
}

std::vector<int32_t> prompt_tokens(const generate::ModelRunner& model, const std::string& prompt) {
  auto tokens = model.tokenizer().encode(prompt, /*add_special=*/true, /*parse_special=*/false);
  if (tokens.empty()) throw Error(ErrorKind::invalid_input, "the prompt gives no tokens");
  return tokens;
}

}  // namespace

void register_generate(CLI::App& app) {
  static ModelOptions model_options;
  static std::string prompt, out_path;
  static int top = 0, n_tokens = 16;
  static bool greedy = false, print_ids = false;

  auto* logits = app.add_subcommand("logits", "print the prompt's tokens and write its last logits");
  model_options.add_to(logits);
  logits->add_option("--prompt", prompt, "prompt text")->required();
  logits->add_option("--out", out_path, "file for the last position's logits (float32, LE)")->required();
  logits->add_option("--top", top, "also print the top N logits at every position")
      ->check(CLI::Range(0, 1 << 20));
  logits->callback([] {
    auto model = load_model(model_options);
    auto tokens = prompt_tokens(*model, prompt);
    std::printf("tokens: %s\n", ids_text(tokens).c_str());
    auto rows = model->feed(0, tokens, top > 0);
    if (top > 0)
      for (size_t i = 0; i < rows.size(); ++i) print_top(rows[i], top, static_cast<int>(i));
    write_floats(out_path, rows[rows.size() - 1]);
  });

  auto* generate = app.add_subcommand("generate", "continue a prompt with greedy decoding");
  model_options.add_to(generate);
  generate->add_option("--prompt", prompt, "prompt text")->required();
  generate->add_option("-n", n_tokens, "tokens to generate")->check(CLI::Range(1, 1 << 20));
  generate->add_flag("--greedy", greedy, "pick the most likely token each step (the only mode)");
  generate->add_flag("--ids", print_ids, "print token ids instead of text");
  generate->callback([] {
    auto model = load_model(model_options);
    auto tokens = prompt_tokens(*model, prompt);
    auto rows = model->feed(0, tokens, false);
    std::vector<int32_t> out;
    for (int i = 0; i < n_tokens; ++i) {
      out.push_back(generate::greedy_token(rows[0]));
      if (i + 1 < n_tokens) rows = model->feed(0, std::span(&out.back(), 1), false);
    }
    if (print_ids)
      std::printf("%s\n", ids_text(out).c_str());
    else
      std::printf("%s\n", model->tokenizer().decode(out, true).c_str());
  });
}

}  // namespace hearth::cli
