// See model_chat.h.
#include "engine/chat/model_chat.h"

namespace hearth::chat {

ModelChat ModelChat::of(const gguf::File& file, const tokenizer::Tokenizer& tokenizer) {
  ModelChat c;
  c.format_ = format_from_gguf(file);
  if (auto tmpl = file.get_string("tokenizer.chat_template")) {
    c.default_system_ = default_system_prompt(*tmpl);
    c.thinking_template_ =
        c.format_ == ChatFormat::chatml && tmpl->find("<think>") != std::string::npos;
  }
  c.bos_text_ = prompt_bos_text(tokenizer);
  return c;
}

tokenizer::PromptText ModelChat::render(std::vector<ChatMessage> messages,
                                        bool add_generation_prompt) const {
  if ((messages.empty() || messages.front().role != "system") && !default_system_.empty())
    messages.insert(messages.begin(), {"system", default_system_});
  return render_chat_prompt(format_, messages, add_generation_prompt, bos_text_);
}

tokenizer::PromptText ModelChat::render(std::vector<ChatMessage> messages,
                                        bool add_generation_prompt, ChatOptions options) const {
  if ((messages.empty() || messages.front().role != "system") && !default_system_.empty())
    messages.insert(messages.begin(), {"system", default_system_});
  return render_chat_prompt(format_, messages, add_generation_prompt, bos_text_,
                            with_model(std::move(options)));
}

tokenizer::PromptText ModelChat::raw(std::string_view prompt) const {
  return tokenizer::PromptText::of_markup(bos_text_).markup(prompt);
}

tokenizer::PromptText ModelChat::plain(std::string_view text) const {
  return tokenizer::PromptText::of_markup(bos_text_).plain(text);
}

}  // namespace hearth::chat
