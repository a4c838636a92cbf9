// Recognising a model's chat format from its Jinja template, and what else the template or the
// vocabulary says about the prompt (fixed system message, BOS).
#include <array>
#include <optional>

#include "core/log.h"
#include "engine/chat/chat_template.h"

namespace hearth::chat {
namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// The first marker test that passes names the format. DeepSeek's fullwidth markers come first as
// the most specific; "[SYSTEM_PROMPT]" must be tested before "[INST]", which its templates share.
std::optional<ChatFormat> match_markers(std::string_view t) {
  if (contains(t, "<｜Assistant｜>")) return ChatFormat::deepseek_r1;
  if (contains(t, "<|start_header_id|>")) return ChatFormat::llama3;
  if (contains(t, "<|im_start|>")) return ChatFormat::chatml;
  if (contains(t, "<start_of_turn>")) return ChatFormat::gemma;
  if (contains(t, "<|assistant|>") && contains(t, "<|end|>")) return ChatFormat::phi3;
  if (contains(t, "[SYSTEM_PROMPT]")) return ChatFormat::mistral_v7_tekken;
  if (contains(t, "[INST]")) return ChatFormat::mistral_inst;
  return std::nullopt;
}

}  // namespace

std::string_view chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::llama3:
      return "llama3";
    case ChatFormat::chatml:
      return "chatml";
    case ChatFormat::deepseek_r1:
      return "deepseek_r1";
    case ChatFormat::phi3:
      return "phi3";
    case ChatFormat::mistral_inst:
      return "mistral_inst";
    case ChatFormat::mistral_v7_tekken:
      return "mistral_v7_tekken";
    case ChatFormat::gemma:
      return "gemma";
  }
  return "unknown";
}

ChatFormat detect_chat_format(std::string_view jinja_template_text, bool* recognised) {
  const auto format = match_markers(jinja_template_text);
  if (recognised) *recognised = format.has_value();
  if (format) return *format;
  if (jinja_template_text.empty()) {
    spdlog::warn("the chat template is empty; using ChatML");
  } else {
    spdlog::warn("unrecognised chat template (starts with \"{}\"); using ChatML",
                 jinja_template_text.substr(0, 60));
  }
  return ChatFormat::chatml;
}

ChatFormat format_from_gguf(const gguf::File& file) {
  const auto text = file.get_string("tokenizer.chat_template");
  if (!text) {
    spdlog::warn("{}: no tokenizer.chat_template; using ChatML", file.name());
    return ChatFormat::chatml;
  }
  return detect_chat_format(*text);
}

std::string default_system_prompt(std::string_view t) {
  constexpr std::string_view kOpen = "<|im_start|>system";
  constexpr std::string_view kClose = "<|im_end|>";
  // In the template source the newline is usually the escape "\n" inside a string literal.
  constexpr std::array<std::string_view, 2> kNewlines = {"\\n", "\n"};
  for (size_t at = t.find(kOpen); at != std::string_view::npos; at = t.find(kOpen, at + 1)) {
    std::string_view rest = t.substr(at + kOpen.size());
    bool newline = false;
    for (const auto nl : kNewlines) {
      if (rest.starts_with(nl)) {
        rest.remove_prefix(nl.size());
        newline = true;
        break;
      }
    }
    const size_t end = rest.find(kClose);
    if (!newline || end == std::string_view::npos || end == 0) continue;
    const std::string_view text = rest.substr(0, end);
    // Only literal text counts: quotes, braces, "+" or escapes mean template code (the user's own
    // system message being inserted, say), which is not a fixed default.
    if (text.find_first_of("'\"{}+\\\n") != std::string_view::npos) continue;
    return std::string(text);
  }
  return {};
}

std::string prompt_bos_text(const tokenizer::Tokenizer& tokenizer) {
  if (!tokenizer.add_bos() || tokenizer.bos() == tokenizer::kNoToken) return {};
  return tokenizer.token_text(tokenizer.bos());
}

}  // namespace hearth::chat
