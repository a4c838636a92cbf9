// render_chat(): one function per format, each following its family's official template (see
// chat_template.h for what they render and where hearth departs from a template on purpose).
#include <optional>
#include <string>

#include "core/error.h"
#include "engine/chat/chat_template.h"

namespace hearth::chat {
namespace {

using Messages = std::span<const ChatMessage>;
using tokenizer::PromptText;

// Jinja's trim filter (Python's str.strip()), for the ASCII whitespace that matters in prompts.
std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\n\r\v\f";
  const size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

void check_roles(Messages messages) {
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& role = messages[i].role;
    if (role != "system" && role != "user" && role != "assistant") {
      throw Error(ErrorKind::invalid_input,
                  "message " + std::to_string(i) + " has the role '" + role +
                      "'; chat messages must be system, user or assistant");
    }
  }
}

// Every renderer writes the template's own text as markup and what the messages bring (content,
// system text, answers) as plain text, so special-token text in a message stays text.
void render_llama3(Messages messages, bool add_generation_prompt, PromptText& out) {
  for (const auto& m : messages) {
    out.markup("<|start_header_id|>" + m.role + "<|end_header_id|>\n\n");
    out.plain(trim(m.content));
    out.markup("<|eot_id|>");
  }
  if (add_generation_prompt) out.markup("<|start_header_id|>assistant<|end_header_id|>\n\n");
}

void render_chatml(Messages messages, bool add_generation_prompt, PromptText& out) {
  for (const auto& m : messages) {
    out.markup("<|im_start|>" + m.role + "\n");
    out.plain(m.content);
    out.markup("<|im_end|>\n");
  }
  if (add_generation_prompt) out.markup("<|im_start|>assistant\n");
}

void render_deepseek_r1(Messages messages, bool add_generation_prompt, PromptText& out) {
  // The system text goes right after the BOS; when there are several the last one counts.
  std::string_view system;
  for (const auto& m : messages) {
    if (m.role == "system") system = m.content;
  }
  out.plain(system);
  for (const auto& m : messages) {
    if (m.role == "user") {
      out.markup("<｜User｜>");
      out.plain(m.content);
    } else if (m.role == "assistant") {
      std::string_view answer = m.content;
      if (const size_t end = answer.rfind("</think>"); end != std::string_view::npos) {
        answer.remove_prefix(end + std::string_view("</think>").size());
      }
      out.markup("<｜Assistant｜>");
      out.plain(answer);
      out.markup("<｜end▁of▁sentence｜>");
    }
  }
  if (add_generation_prompt) out.markup("<｜Assistant｜><think>\n");
}

void render_phi3(Messages messages, bool add_generation_prompt, PromptText& out) {
  for (const auto& m : messages) {
    if (m.role == "system" && m.content.empty()) continue;
    out.markup("<|" + m.role + "|>\n");
    out.plain(m.content);
    out.markup("<|end|>\n");
  }
  out.markup(add_generation_prompt ? "<|assistant|>\n" : "<|endoftext|>");
}

// The Mistral templates' own checks: an optional system message first, then user and assistant
// strictly alternating from a user message. Returns the system message (nullopt when none) and
// leaves `messages` without it.
std::optional<std::string_view> split_mistral_system(Messages& messages) {
  std::optional<std::string_view> system;
  if (!messages.empty() && messages.front().role == "system") {
    system = messages.front().content;
    messages = messages.subspan(1);
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role == "system") {
      throw Error(ErrorKind::invalid_input,
                  "Mistral chat formats accept a system message only as the first message");
    }
    if ((messages[i].role == "user") != (i % 2 == 0)) {
      throw Error(ErrorKind::invalid_input,
                  "Mistral chat formats need user and assistant messages to alternate, starting "
                  "with a user message (after the optional system message)");
    }
  }
  return system;
}

void render_mistral_inst(Messages messages, PromptText& out) {
  const auto system = split_mistral_system(messages);
  size_t last_user = messages.size();
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role == "user") last_user = i;
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (m.role == "user") {
      out.markup("[INST] ");
      if (i == last_user && system) {
        out.plain(*system);
        out.markup("\n\n");
      }
      out.plain(m.content);
      out.markup("[/INST]");
    } else {
      out.markup(" ");
      out.plain(trim(m.content));
      out.markup("</s>");
    }
  }
}

void render_mistral_v7_tekken(Messages messages, PromptText& out) {
  if (const auto system = split_mistral_system(messages)) {
    out.markup("[SYSTEM_PROMPT]");
    out.plain(*system);
    out.markup("[/SYSTEM_PROMPT]");
  }
  for (const auto& m : messages) {
    if (m.role == "user") {
      out.markup("[INST]");
      out.plain(m.content);
      out.markup("[/INST]");
    } else {
      out.plain(m.content);
      out.markup("</s>");
    }
  }
}

void render_gemma(Messages messages, bool add_generation_prompt, PromptText& out) {
  std::optional<std::string_view> system;
  if (!messages.empty() && messages.front().role == "system") {
    system = messages.front().content;
    messages = messages.subspan(1);
  }
  for (const auto& m : messages)
    if (m.role == "system")
      throw Error(ErrorKind::invalid_input,
                  "the Gemma chat format accepts a system message only as the first message");
  if (system && messages.empty()) {  // the system text alone: a user turn of its own
    out.markup("<start_of_turn>user\n");
    out.plain(*system);
    out.markup("\n\n<end_of_turn>\n");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    out.markup(m.role == "assistant" ? "<start_of_turn>model\n" : "<start_of_turn>user\n");
    if (i == 0 && system) {
      out.plain(*system);
      out.markup("\n\n");
    }
    out.plain(trim(m.content));
    out.markup("<end_of_turn>\n");
  }
  if (add_generation_prompt) out.markup("<start_of_turn>model\n");
}

}  // namespace

PromptText render_chat_prompt(ChatFormat format, std::span<const ChatMessage> messages,
                              bool add_generation_prompt, const std::string& bos_text) {
  check_roles(messages);
  PromptText out = PromptText::of_markup(bos_text);
  switch (format) {
    case ChatFormat::llama3:
      render_llama3(messages, add_generation_prompt, out);
      return out;
    case ChatFormat::chatml:
      render_chatml(messages, add_generation_prompt, out);
      return out;
    case ChatFormat::deepseek_r1:
      render_deepseek_r1(messages, add_generation_prompt, out);
      return out;
    case ChatFormat::phi3:
      render_phi3(messages, add_generation_prompt, out);
      return out;
    case ChatFormat::mistral_inst:
      render_mistral_inst(messages, out);
      return out;
    case ChatFormat::mistral_v7_tekken:
      render_mistral_v7_tekken(messages, out);
      return out;
    case ChatFormat::gemma:
      render_gemma(messages, add_generation_prompt, out);
      return out;
  }
  HEARTH_ASSERT(false, "unknown ChatFormat");
}

std::string render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, const std::string& bos_text) {
  return render_chat_prompt(format, messages, add_generation_prompt, bos_text).text();
}

}  // namespace hearth::chat
