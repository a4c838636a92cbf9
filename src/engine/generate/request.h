// What one generation asks for and what each decode step gives back (engine/generate/runner.h).
// The server's GenerationRequest (server/scheduler.h) extends Request with where the model is and
// how long to keep it; `hearth run` fills one per turn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/chat/chat_template.h"
#include "engine/chat/tools.h"
#include "engine/sampler/sampler.h"

namespace hearth::generate {

// A LoRA adapter file to apply, at a scale (`--lora FILE[:SCALE]`; model/lora.h).
struct LoraFile {
  std::string path;
  float scale = 1.0f;
};

struct Request {
  // Chat: rendered with the model's chat template plus a generation prompt. When `messages` is
  // empty, `prompt` is used instead: with apply_template it becomes one user message (preceded
  // by `system` when non-empty), without it is the raw text (the BOS rule still applies).
  std::vector<chat::ChatMessage> messages;
  std::string prompt;
  std::string system;
  bool apply_template = true;
  sampler::SamplerSettings sampling;  // seed already chosen by the caller
  int max_tokens = -1;                // -1: until EOS or the end of the context
  std::vector<std::string> stop;      // stop strings (in addition to end-of-generation tokens)
  bool json_object = false;           // constrain the output to one JSON object
  // Constrain the output to a value this JSON Schema (its JSON text) accepts; empty: none.
  // Takes precedence over json_object. compile_json_schema() (json_schema.h) checks it first.
  std::string json_schema;
  // Each generated token's log-probability (log-softmax of the model's raw logits at that step,
  // before penalties, temperature and constraints) and, with top_logprobs > 0, that many most
  // likely alternatives (Output::logprobs). Off: no extra pass over the vocabulary.
  bool logprobs = false;
  int top_logprobs = 0;               // 0..kMaxTopLogprobs
  // LoRA adapters for this request only, on top of RunnerOptions::adapters, in this order: a
  // fine-tuned version of the loaded base runs as base + its adapter, batched with requests for
  // the base or other versions (model::Context::set_sequence_adapters).
  std::vector<LoraFile> adapters;
  // Tools offered, the tool choice and thinking (chat/tools.h), for chat requests (messages, or
  // a prompt with apply_template). A forced call constrains the output to the call's JSON; the
  // output is split into reasoning, text and calls (chat/reply_parser.h) in Output.
  chat::ChatOptions chat;
  // Whose prompt this is, for the prompt cache (RunnerOptions::prompt_cache): the cells a
  // request leaves in its slot are reused only by a later request with the same owner (and the
  // same adapters). The server puts the user here, so no user's prompts speed up (or show in the
  // timing of) another user's requests.
  std::string cache_owner;
};

inline constexpr int kMaxTopLogprobs = 20;

// One token with its log-probability at a step.
struct TokenLogprob {
  int32_t id = -1;
  std::string bytes;   // what the token stands for (control tokens as their text); not
                       // necessarily whole UTF-8: a byte token may be part of a character
  float logprob = 0;   // natural log
};

// A generated token's log-probability and the most likely tokens at its step, by logprob
// descending, equal ones by id ascending (the chosen token among them when it is one of them).
struct TokenLogprobs {
  TokenLogprob chosen;
  std::vector<TokenLogprob> top;
};

// What a decode step did for one sequence. A sequence gives one Output per step it took part in
// once its prompt is done (a prompt chunk that is not the last gives none).
struct Output {
  int slot = 0;
  std::string text;          // this token's text; may be empty while UTF-8 or a possible stop
                             // string (or, for chat requests, a possible marker) is held back.
                             // Chat requests: the answer's text only, reasoning and tool calls
                             // apart (below)
  std::string reasoning;     // chat: reasoning text that became certain in this step (or at done)
  std::vector<chat::ToolCall> tool_calls;  // chat: calls completed in this step (or at done)
  std::string tail;          // done: what was held back, let out at the end
  bool first = false;        // the prompt finished in this step (this is the first token)
  bool token = false;        // a token was generated (not the end-of-generation one)
  std::vector<TokenLogprobs> logprobs;  // Request::logprobs: the generated token's (one, or none)
  bool done = false;         // the sequence ended; its slot is free for start() again
  std::string finish_reason; // done: "stop" (EOS, a stop string, JSON complete) or "length"
  bool context_full = false; // done with "length" because the context had no room left
  int prompt_tokens = 0;     // done: the prompt's tokens
  int completion_tokens = 0; // done: tokens generated
  bool failed = false;       // the step failed for this sequence (nothing was added): `error`
  ErrorKind error_kind = ErrorKind::internal;
  std::string error;
};

struct Embedding {
  std::vector<std::vector<float>> vectors;  // one per input: mean-pooled final hidden state
                                            // (after the output norm), L2-normalised
  int prompt_tokens = 0;                    // all inputs together
};

}  // namespace hearth::generate
