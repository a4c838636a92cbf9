// render_chat(): one function per format, each following its family's official template (see
// chat_template.h for what they render and where hearth departs from a template on purpose).
#include <optional>
#include <string>

#include "core/error.h"
#include "engine/chat/chat_template.h"

namespace hearth::chat {
namespace {

using Messages = std::span<const ChatMessage>;

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

std::string render_llama3(Messages messages, bool add_generation_prompt, std::string out) {
  for (const auto& m : messages) {
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
    out += trim(m.content);
    out += "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

std::string render_chatml(Messages messages, bool add_generation_prompt, std::string out) {
  for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::string render_deepseek_r1(Messages messages, bool add_generation_prompt, std::string out) {
  // The system text goes right after the BOS; when there are several the last one counts.
  std::string_view system;
  for (const auto& m : messages) {
    if (m.role == "system") system = m.content;
  }
  out += system;
  for (const auto& m : messages) {
    if (m.role == "user") {
      out += "<｜User｜>" + m.content;
    } else if (m.role == "assistant") {
      std::string_view answer = m.content;
      if (const size_t end = answer.rfind("</think>"); end != std::string_view::npos) {
        answer.remove_prefix(end + std::string_view("</think>").size());
      }
      out += "<｜Assistant｜>";
      out += answer;
      out += "<｜end▁of▁sentence｜>";
    }
  }
  if (add_generation_prompt) out += "<｜Assistant｜><think>\n";
  return out;
}

std::string render_phi3(Messages messages, bool add_generation_prompt, std::string out) {
  for (const auto& m : messages) {
    if (m.role == "system" && m.content.empty()) continue;
    out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  }
  out += add_generation_prompt ? "<|assistant|>\n" : "<|endoftext|>";
  return out;
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

std::string render_mistral_inst(Messages messages, std::string out) {
  const auto system = split_mistral_system(messages);
  size_t last_user = messages.size();
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role == "user") last_user = i;
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (m.role == "user") {
      out += "[INST] ";
      if (i == last_user && system) {
        out += *system;
        out += "\n\n";
      }
      out += m.content + "[/INST]";
    } else {
      out += " ";
      out += trim(m.content);
      out += "</s>";
    }
  }
  return out;
}

std::string render_mistral_v7_tekken(Messages messages, std::string out) {
  if (const auto system = split_mistral_system(messages)) {
    out += "[SYSTEM_PROMPT]";
    out += *system;
    out += "[/SYSTEM_PROMPT]";
  }
  for (const auto& m : messages) {
    out += m.role == "user" ? "[INST]" + m.content + "[/INST]" : m.content + "</s>";
  }
  return out;
}

}  // namespace

std::string render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, const std::string& bos_text) {
  check_roles(messages);
  switch (format) {
    case ChatFormat::llama3:
      return render_llama3(messages, add_generation_prompt, bos_text);
    case ChatFormat::chatml:
      return render_chatml(messages, add_generation_prompt, bos_text);
    case ChatFormat::deepseek_r1:
      return render_deepseek_r1(messages, add_generation_prompt, bos_text);
    case ChatFormat::phi3:
      return render_phi3(messages, add_generation_prompt, bos_text);
    case ChatFormat::mistral_inst:
      return render_mistral_inst(messages, bos_text);
    case ChatFormat::mistral_v7_tekken:
      return render_mistral_v7_tekken(messages, bos_text);
  }
  HEARTH_ASSERT(false, "unknown ChatFormat");
}

}  // namespace hearth::chat
