// `hearth run MODEL [PROMPT]`: chat with a model in the terminal. With a prompt it answers once
// and exits; without one it reads a line at a time (/bye or end of input to leave) and keeps the
// conversation, reusing the cached tokens of earlier turns.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/model_session.h"
#include "core/error.h"
#include "engine/chat/chat_template.h"
#include "engine/sampler/sampler.h"

namespace hearth::cli {
namespace {

struct RunOptions {
  ModelOptions model;
  std::string prompt;
  std::string system;
  sampler::SamplerSettings sampling;
  bool seed_given = false;
  int max_tokens = -1;
};

class Chat {
 public:
  explicit Chat(const RunOptions& options)
      : options_(options), session_(options.model), format_(chat::format_from_gguf(session_.model().file())) {
    std::string system = options.system;
    if (system.empty())
      if (auto tmpl = session_.model().file().get_string("tokenizer.chat_template"))
        system = chat::default_system_prompt(*tmpl);
    if (!system.empty()) messages_.push_back({"system", system});
    auto settings = options.sampling;
    if (!options.seed_given) settings.seed = sampler::Sampler::random_seed();
    sampler::validate(settings);
    sampler_ = std::make_unique<sampler::Sampler>(settings, session_.model().n_vocab());
  }

  // Sends one user message and streams the answer to stdout.
  void answer(const std::string& user_text) {
    messages_.push_back({"user", user_text});
    const auto& tok = session_.tokenizer();
    std::string prompt =
        chat::render_chat(format_, messages_, true, chat::prompt_bos_text(tok));
    std::vector<int32_t> tokens = tok.encode(prompt, /*add_special=*/false, /*parse_special=*/true);

    // Reuse what the cache already holds; start over when the history changed shape.
    size_t common = 0;
    while (common < fed_.size() && common < tokens.size() && fed_[common] == tokens[common]) ++common;
    if (common < fed_.size() || common == tokens.size()) {
      session_.context().remove_sequence(0);
      fed_.clear();
      common = 0;
    }
    auto logits = session_.feed(std::span(tokens).subspan(common), false);
    fed_ = tokens;

    tokenizer::StreamDecoder text(tok);
    std::string reply;
    const int budget = options_.max_tokens > 0 ? options_.max_tokens
                                               : session_.context().n_ctx() - static_cast<int>(fed_.size());
    for (int n = 0; n < budget; ++n) {
      int32_t id = sampler_->sample(logits[0]);
      sampler_->accept(id);
      if (tok.is_eog(id)) break;
      std::string piece = text.push(id);
      reply += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      if (session_.context().n_past(0) + 1 > session_.context().n_ctx()) {
        std::fprintf(stderr, "\n[context full: answer cut at %d tokens]", n + 1);
        break;
      }
      logits = session_.feed(std::span(&id, 1), false);
      fed_.push_back(id);
    }
    std::string tail = text.finish();
    reply += tail;
    std::fwrite(tail.data(), 1, tail.size(), stdout);
    std::printf("\n");
    messages_.push_back({"assistant", reply});
  }

 private:
  const RunOptions& options_;
  ModelSession session_;
  chat::ChatFormat format_;
  std::vector<chat::ChatMessage> messages_;
  std::vector<int32_t> fed_;  // tokens sequence 0 of the cache holds
  std::unique_ptr<sampler::Sampler> sampler_;
};

}  // namespace

void register_run(CLI::App& app) {
  static RunOptions options;
  auto* run = app.add_subcommand("run", "chat with a model (one answer when PROMPT is given)");
  options.model.add_to(run);
  run->add_option("prompt", options.prompt, "the message to answer; omit for an interactive chat");
  run->add_option("--system", options.system, "system prompt");
  auto& s = options.sampling;
  run->add_option("--temperature", s.temperature, "randomness; 0 always picks the likeliest token");
  run->add_option("--top-k", s.top_k, "sample among the K likeliest tokens (0: off)");
  run->add_option("--top-p", s.top_p, "sample among tokens holding this much probability");
  run->add_option("--min-p", s.min_p, "drop tokens below this fraction of the best one's probability");
  run->add_option("--repeat-penalty", s.repeat_penalty, "penalty for repeating recent tokens");
  run->add_option("--seed", s.seed, "random seed, for a reproducible answer")
      ->each([](const std::string&) { options.seed_given = true; });
  run->add_option("--max-tokens", options.max_tokens, "stop an answer after this many tokens");
  run->callback([] {
    Chat chat(options);
    if (!options.prompt.empty()) {
      chat.answer(options.prompt);
      return;
    }
    const bool interactive = ::isatty(STDIN_FILENO) != 0;
    if (interactive) std::printf("Chatting with %s. Type /bye to leave.\n", options.model.model.c_str());
    std::string line;
    for (;;) {
      if (interactive) std::printf(">>> "), std::fflush(stdout);
      if (!std::getline(std::cin, line) || line == "/bye") break;
      if (line.empty()) continue;
      chat.answer(line);
    }
  });
}

}  // namespace hearth::cli
