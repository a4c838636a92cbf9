// A model's way of turning a conversation into prompt text: its chat format, the system message
// its template renders when a conversation has none, and the BOS rule (chat_template.h). The
// generation layer renders requests with it and the trainer renders training conversations with
// it, so a model learns from exactly the text it is later asked with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/chat/chat_template.h"
#include "engine/chat/tools.h"

namespace hearth::chat {

class ModelChat {
 public:
  ModelChat() = default;
  // From the file's tokenizer.chat_template (chatml when absent) and the vocabulary's BOS rule.
  static ModelChat of(const gguf::File& file, const tokenizer::Tokenizer& tokenizer);

  // The conversation as prompt text: the template's built-in system message first when the
  // conversation has no system message of its own, then render_chat_prompt() (the messages'
  // text plain, the template's markup). Error(invalid_input) as render_chat().
  tokenizer::PromptText render(std::vector<ChatMessage> messages, bool add_generation_prompt) const;
  // The same with tools and thinking (tools.h); options.thinking_template is set from the model.
  tokenizer::PromptText render(std::vector<ChatMessage> messages, bool add_generation_prompt,
                               ChatOptions options) const;
  // The options as render() uses them for this model (thinking_template set).
  ChatOptions with_model(ChatOptions options) const {
    options.thinking_template = thinking_template_;
    return options;
  }
  // A prompt the caller marks as raw: the BOS rule's text, then `prompt` as markup (special-token
  // text in it becomes special tokens: the caller asks for that).
  tokenizer::PromptText raw(std::string_view prompt) const;
  // Text to embed: the BOS rule's text, then `text` as plain text.
  tokenizer::PromptText plain(std::string_view text) const;

  ChatFormat format() const { return format_; }
  const std::string& bos_text() const { return bos_text_; }

 private:
  ChatFormat format_ = ChatFormat::chatml;
  std::string default_system_;  // the template's built-in system message, if any
  std::string bos_text_;        // the BOS rule (chat_template.h)
  bool thinking_template_ = false;  // a ChatML template that writes <think> (Qwen3)
};

}  // namespace hearth::chat
