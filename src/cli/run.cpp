// `hearth run MODEL [PROMPT]`: chat with a model in the terminal. With a prompt it answers once
// and exits; without one it reads a line at a time (/bye or end of input to leave) and keeps the
// conversation, reusing the cached tokens of earlier turns.
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/model_session.h"
#include "core/error.h"

namespace hearth::cli {
namespace {

struct RunOptions {
  ModelOptions model;
  std::string prompt;
  std::string system;
  sampler::SamplerSettings sampling;
  bool seed_given = false;
  int max_tokens = -1;
  bool no_think = false;  // ask a reasoning model to answer without its reasoning
  std::string kv_cache = "f16";  // --kv-cache: f16 (as the server), q8_0 or f32
};

class Chat {
 public:
  explicit Chat(const RunOptions& options) : options_(options) {
    generate::RunnerOptions runner;
    runner.keep_conversation = true;  // each turn reuses the cached tokens of the earlier ones
    runner.kv_type = model::kv_type_from_name(options.kv_cache, "--kv-cache");
    model_ = load_model(options.model, runner);
    if (!options.system.empty()) messages_.push_back({"system", options.system});
    sampling_ = options.sampling;
    if (!options.seed_given) sampling_.seed = generate::random_seed();
    generate::Request check;
    check.sampling = sampling_;
    generate::validate(check);
  }

  // Sends one user message and streams the answer to stdout.
  void answer(const std::string& user_text) {
    messages_.push_back({"user", user_text});
    generate::Request request;
    request.messages = messages_;  // the template's own system prompt leads when none is given
    request.sampling = sampling_;
    request.max_tokens = options_.max_tokens;
    request.chat.thinking = !options_.no_think;
    try {
      model_->start(0, request, model_->n_ctx());
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::invalid_input) throw;
      // Said in the terminal's words: the server's message names num_ctx.
      throw Error(ErrorKind::invalid_input, "the conversation no longer fits the context of " +
                                                std::to_string(model_->n_ctx()) +
                                                " tokens; start again or pass a larger --ctx");
    }
    std::string reply;
    // A reasoning model's thinking is shown apart, before the answer (and not kept in the
    // history the next turn sends back).
    bool thinking = false;
    auto show = [](const std::string& text) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
    };
    auto think = [&](const std::string& text) {
      if (text.empty()) return;
      if (!thinking) show("Thinking...\n");
      thinking = true;
      show(text);
    };
    auto write = [&](const std::string& text) {
      if (text.empty()) return;
      if (thinking) show("\n...done thinking.\n\n");
      thinking = false;
      reply += text;
      show(text);
    };
    for (bool done = false; !done;) {
      std::vector<generate::Output> outputs;
      model_->step(outputs);
      for (const auto& o : outputs) {
        if (o.failed) throw Error(o.error_kind, o.error);
        think(o.reasoning);
        write(o.text);
        if (!o.done) continue;
        done = true;
        if (o.context_full)
          std::fprintf(stderr, "\n[context full: answer cut at %d tokens]", o.completion_tokens);
        write(o.tail);
      }
    }
    std::printf("\n");
    messages_.push_back({"assistant", reply});
  }

 private:
  const RunOptions& options_;
  std::unique_ptr<generate::ModelRunner> model_;
  sampler::SamplerSettings sampling_;
  std::vector<chat::ChatMessage> messages_;
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
  run->add_flag("--no-think", options.no_think,
                "ask a reasoning model (DeepSeek-R1, Qwen3) to answer without thinking first");
  run->add_option("--seed", s.seed, "random seed, for a reproducible answer")
      ->each([](const std::string&) { options.seed_given = true; });
  run->add_option("--max-tokens", options.max_tokens, "stop an answer after this many tokens");
  run->add_option("--kv-cache", options.kv_cache,
                  "KV cache type: f16 (default), q8_0 (about half of f16's memory) or f32");
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
