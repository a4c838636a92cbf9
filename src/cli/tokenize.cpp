// `hearth tokenize` and `hearth detokenize`: a model's tokenizer from the command line, for
// checking what a prompt becomes and for comparing with llama.cpp's llama-tokenize. MODEL is an
// installed name[:tag] or a GGUF file (a model or a vocabulary-only file).
//
//   hearth tokenize MODEL.gguf --text "Hello world" [--special] [--no-add-special]
//       ids separated by spaces on one line. Like llama-tokenize, BOS/EOS are added as the model
//       asks; unlike it, text such as "<s>" stays text unless --special is given.
//   hearth tokenize MODEL.gguf --file STRINGS.inp [--special]
//       strings separated by lines "__ggml_vocab_test__" (the conformance .inp format); one output
//       line per string, each id preceded by a space (the .out format). No BOS/EOS.
//   hearth detokenize MODEL.gguf --ids "1 15043 3186" [--special] [--keep-space-prefix]
//       the text, followed by a newline.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/model_resolve.h"
#include "core/error.h"
#include "engine/gguf/gguf.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth::cli {

namespace {

constexpr std::string_view kSeparator = "\n__ggml_vocab_test__\n";

tokenizer::Tokenizer load(const std::string& model) {
  return tokenizer::Tokenizer::from_gguf(gguf::File::open(resolve_model(model).path));
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::io, "cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(ErrorKind::io, "error while reading " + path);
  return ss.str();
}

// Each string is followed by the separator; text after the last separator counts as one more
// string unless it is empty.
std::vector<std::string> split_strings(std::string_view data) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (size_t sep; (sep = data.find(kSeparator, pos)) != std::string_view::npos;) {
    out.emplace_back(data.substr(pos, sep - pos));
    pos = sep + kSeparator.size();
  }
  if (pos < data.size()) out.emplace_back(data.substr(pos));
  return out;
}

std::vector<int32_t> parse_ids(const std::string& text) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != word.size() || value < INT32_MIN || value > INT32_MAX) {
      throw Error(ErrorKind::invalid_input, "--ids: '" + word + "' is not a token id");
    }
    ids.push_back(static_cast<int32_t>(value));
  }
  return ids;
}

void write(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
}

}  // namespace

void register_tokenize(CLI::App& app) {
  struct Options {
    std::string model, text, file, ids;
    bool special = false, no_add_special = false, keep_space_prefix = false;
  };
  auto opts = std::make_shared<Options>();

  auto* tok =
      app.add_subcommand("tokenize", "print the token ids a model's tokenizer gives a text");
  tok->add_option("model", opts->model, "installed model name[:tag], or a GGUF model or vocabulary file")
      ->required();
  auto* text = tok->add_option("--text", opts->text,
                               "text to tokenize; BOS/EOS are added as the model asks");
  auto* file = tok->add_option("--file", opts->file,
                               "file of strings separated by lines '__ggml_vocab_test__'; prints "
                               "one line per string, each id preceded by a space; no BOS/EOS");
  text->excludes(file);
  tok->add_flag("--special", opts->special,
                "recognise special-token text such as <s> or <|im_end|> as those tokens");
  tok->add_flag("--no-add-special", opts->no_add_special, "with --text: add no BOS/EOS");
  tok->callback([opts, text, file] {
    if (text->count() == 0 && file->count() == 0) {
      throw Error(ErrorKind::invalid_input, "tokenize: give --text TEXT or --file FILE");
    }
    const auto tokenizer = load(opts->model);
    if (text->count() > 0) {
      const auto ids = tokenizer.encode(opts->text, !opts->no_add_special, opts->special);
      std::string line;
      for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
      write(line + "\n");
      return;
    }
    for (const std::string& s : split_strings(read_all(opts->file))) {
      std::string line;
      for (int32_t id : tokenizer.encode(s, false, opts->special)) line += " " + std::to_string(id);
      write(line + "\n");
    }
  });

  auto* detok = app.add_subcommand("detokenize", "print the text of token ids");
  detok->add_option("model", opts->model, "installed model name[:tag], or a GGUF model or vocabulary file")
      ->required();
  detok->add_option("--ids", opts->ids, "token ids separated by spaces, e.g. \"1 15043 3186\"")
      ->required();
  detok->add_flag("--special", opts->special, "show control tokens such as <s> as text");
  detok->add_flag("--keep-space-prefix", opts->keep_space_prefix,
                  "keep the leading space SentencePiece models put in front of the text");
  detok->callback([opts] {
    const auto ids = parse_ids(opts->ids);
    const auto tokenizer = load(opts->model);
    write(tokenizer.decode(ids, opts->special, !opts->keep_space_prefix) + "\n");
  });
}

}  // namespace hearth::cli
