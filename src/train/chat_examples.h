// Training conversations: OpenAI's chat fine-tuning JSONL, as `hearth data export` writes it
// ({"messages": [{"role", "content", "weight"?}, ...]} a line), turned into token sequences with
// a mask of the tokens to learn.
//
// A conversation is rendered with the model's own chat format (chat::ModelChat, the same text
// inference renders, the template's built-in system message included) and tokenized as a whole.
// The targets are each assistant answer's tokens, through the end-of-turn token that closes it
// (the model learns to stop), found as the tokens between the rendering of the conversation up to
// that answer (with the generation prompt: what inference would be asked) and the rendering
// through it. An assistant message with "weight": 0 is context, not a target; so are system and
// user messages.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "engine/chat/model_chat.h"
#include "engine/tokenizer/tokenizer.h"
#include "train/examples.h"

namespace hearth::train {

// One conversation; `trained[i]` says whether message i is an answer to learn.
// Error(invalid_input) when no target token results (no trained answer, or only empty ones) and
// as the chat format refuses the conversation (chat_template.h).
Example conversation_example(const chat::ModelChat& chat, const tokenizer::Tokenizer& tokenizer,
                             std::span<const chat::ChatMessage> messages,
                             const std::vector<bool>& trained);

// Every conversation of the file, checked as `hearth data validate` checks (OpenAI's rules)
// before any is rendered: Error(invalid_input) listing the bad lines by number (the first 10,
// and how many). Error(not_found / io) when the file cannot be read.
std::vector<Example> read_chat_jsonl(const std::filesystem::path& path, const chat::ModelChat& chat,
                                     const tokenizer::Tokenizer& tokenizer);

// The examples of a training file in either format, told apart by its first line: "messages"
// (chat, above) or "tokens" (pre-tokenized, examples.h). `model` gives the vocabulary and chat
// format.
std::vector<Example> read_training_file(const std::filesystem::path& path,
                                        const chat::ModelChat& chat,
                                        const tokenizer::Tokenizer& tokenizer);

// The examples cut to max_seq tokens; those left without a target are dropped (`dropped`, when
// given, counts them). Error(invalid_input) when none is left.
std::vector<Example> fit_to_length(std::vector<Example> examples, int max_seq,
                                   size_t* dropped = nullptr);

}  // namespace hearth::train
