// The loop thread's own state (scheduler_impl.h): the loaded engine and one running sequence.
// Shared by model_loop.cpp (load, admit, steps) and generation.cpp (one sequence's tokens).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/sampler/sampler.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/json_constraint.h"
#include "server/scheduler_impl.h"

namespace hearth::server::detail {

struct ModelLoop::Engine {
  std::string path;
  std::shared_ptr<const model::Model> model;
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<model::Context> ctx;
  chat::ChatFormat format = chat::ChatFormat::chatml;
  std::string default_system;       // the template's built-in system message, if any
  std::string bos_text;             // the BOS rule (chat_template.h)
  std::vector<std::string> pieces;  // every token's bytes, filled on the first JSON request

  const tokenizer::Tokenizer& tokenizer() const { return model->tokenizer(); }
  int n_ctx_train() const { return model->hparams().n_ctx_train; }
};

struct ModelLoop::Sequence {
  Sequence(Task&& t, const Engine& engine)
      : task(std::move(t)),
        sampler(task.gen.sampling, engine.model->n_vocab()),
        decoder(engine.tokenizer()),
        stops(task.gen.stop) {}

  Task task;
  std::vector<int32_t> prompt;
  size_t fed = 0;  // prompt tokens decoded so far
  int pos = 0;     // where the next generated token goes
  int limit = 0;   // this request's context (num_ctx)
  int n_generated = 0;
  bool generating = false;  // the prompt is done; `next` is the token to decode
  int32_t next = -1;
  sampler::Sampler sampler;
  tokenizer::StreamDecoder decoder;
  sampler::StopStrings stops;
  std::optional<JsonPrefix> json;
  Clock::time_point admitted, first_token;
  std::int64_t prompt_ns = 0;
};

// The prompt text of a generation request (chat template or raw, with the BOS rule).
std::string render_prompt(const GenerationRequest& request, chat::ChatFormat format,
                          const std::string& default_system, const std::string& bos_text);

}  // namespace hearth::server::detail
