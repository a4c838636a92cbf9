// render_chat(): one function per format, each following its family's official template (see
// chat_template.h for what they render and where hearth departs from a template on purpose).
#include <optional>
#include <vector>

#include <boost/json.hpp>
#include <string>

#include "core/error.h"
#include "engine/chat/chat_template.h"
#include "engine/chat/python_json.h"
#include "engine/chat/tools.h"

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
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      throw Error(ErrorKind::invalid_input,
                  "message " + std::to_string(i) + " has the role '" + role +
                      "'; chat messages must be system, user, assistant or tool");
    }
  }
}

// Every renderer writes the template's own text as markup and what the messages bring (content,
// system text, answers) as plain text, so special-token text in a message stays text.
void render_llama3(Messages messages, bool add_generation_prompt, const ChatOptions& options,
                   PromptText& out) {
  const bool tools = options.offers_tools();
  bool preamble_done = !tools;
  if (tools && (messages.empty() || messages.front().role != "system")) {
    out.markup("<|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\n\n<|eot_id|>");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string role = m.role == "tool" ? "ipython" : m.role;
    out.markup("<|start_header_id|>" + role + "<|end_header_id|>\n\n");
    if (tools && i == 0 && m.role == "system") out.markup("Environment: ipython\n\n");
    if (!preamble_done && m.role == "user") {
      out.plain(llama3_tools_preamble(options.tools));
      preamble_done = true;
    }
    if (m.role == "assistant" && !m.tool_calls.empty()) {
      for (size_t c = 0; c < m.tool_calls.size(); ++c)
        out.plain((c ? "; " : "") + call_json(m.tool_calls[c], "parameters"));
    } else {
      out.plain(trim(m.content));
    }
    out.markup("<|eot_id|>");
  }
  if (add_generation_prompt) out.markup("<|start_header_id|>assistant<|end_header_id|>\n\n");
}

void render_chatml(Messages messages, bool add_generation_prompt, const ChatOptions& options,
                   PromptText& out) {
  const bool tools = options.offers_tools();
  if (tools && (messages.empty() || messages.front().role != "system")) {
    out.markup("<|im_start|>system\n");
    out.plain(chatml_tools_section(options.tools));
    out.markup("<|im_end|>\n");
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (m.role == "tool") {  // consecutive results share one user turn
      if (i == 0 || messages[i - 1].role != "tool") out.markup("<|im_start|>user");
      out.markup("\n<tool_response>\n");
      out.plain(m.content);
      out.markup("\n</tool_response>");
      if (i + 1 == messages.size() || messages[i + 1].role != "tool") out.markup("<|im_end|>\n");
      continue;
    }
    if (m.role == "assistant" && !m.tool_calls.empty()) {
      out.markup("<|im_start|>assistant");
      if (!m.content.empty()) {
        out.markup("\n");
        out.plain(m.content);
      }
      for (const auto& call : m.tool_calls) {
        out.markup("\n<tool_call>\n");
        out.plain(call_json(call, "arguments"));
        out.markup("\n</tool_call>");
      }
      out.markup("<|im_end|>\n");
      continue;
    }
    out.markup("<|im_start|>" + m.role + "\n");
    out.plain(m.content);
    if (tools && i == 0 && m.role == "system") {
      out.plain("\n\n");
      out.plain(chatml_tools_section(options.tools));
    }
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
  // A run of tool results takes the user's place after an assistant's calls.
  size_t turn = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role == "system") {
      throw Error(ErrorKind::invalid_input,
                  "Mistral chat formats accept a system message only as the first message");
    }
    const bool tool = messages[i].role == "tool";
    if (tool && i > 0 && messages[i - 1].role == "tool") continue;
    if (tool && (i == 0 || messages[i - 1].tool_calls.empty())) {
      throw Error(ErrorKind::invalid_input,
                  "Mistral chat formats need tool results right after the assistant's tool calls");
    }
    if ((messages[i].role == "user" || tool) != (turn % 2 == 0)) {
      throw Error(ErrorKind::invalid_input,
                  "Mistral chat formats need user and assistant messages to alternate, starting "
                  "with a user message (after the optional system message)");
    }
    ++turn;
  }
  return system;
}

// Mistral v3 ([INST] with spaces) and v7-tekken (no spaces) differ in little but spacing and
// where the system message goes.
void render_mistral(Messages messages, bool tekken, const ChatOptions& options, PromptText& out) {
  const auto system = split_mistral_system(messages);
  const std::string gap = tekken ? "" : " ";
  if (tekken && system) {
    out.markup("[SYSTEM_PROMPT]");
    out.plain(*system);
    out.markup("[/SYSTEM_PROMPT]");
  }
  size_t last_user = messages.size();
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role == "user") last_user = i;
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    if (m.role == "user") {
      if (i == last_user && options.offers_tools()) {
        out.markup("[AVAILABLE_TOOLS]" + gap);
        out.plain(mistral_tools_array(options.tools));
        out.markup("[/AVAILABLE_TOOLS]");
      }
      out.markup("[INST]" + gap);
      if (!tekken && i == last_user && system) {
        out.plain(*system);
        out.markup("\n\n");
      }
      out.plain(m.content);
      out.markup("[/INST]");
    } else if (m.role == "tool") {
      out.markup("[TOOL_RESULTS]" + gap);
      boost::json::object result{{"content", m.content}};
      if (!m.tool_call_id.empty()) result["call_id"] = m.tool_call_id;
      out.plain(python_json(result));
      out.markup("[/TOOL_RESULTS]");
    } else {
      if (!tekken) out.markup(" ");
      out.plain(tekken ? std::string(m.content) : std::string(trim(m.content)));
      if (!m.tool_calls.empty()) {
        out.markup("[TOOL_CALLS]" + gap);
        std::string calls = "[";
        for (size_t c = 0; c < m.tool_calls.size(); ++c)
          calls += (c ? ", " : "") + call_json(m.tool_calls[c], "arguments", /*with_id=*/true);
        out.plain(calls + "]");
      }
      out.markup("</s>");
    }
  }
}

bool thinks(ChatFormat format, const ChatOptions& options) {
  return format == ChatFormat::deepseek_r1 || options.thinking_template;
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
  return render_chat_prompt(format, messages, add_generation_prompt, bos_text, ChatOptions{});
}

PromptText render_chat_prompt(ChatFormat format, std::span<const ChatMessage> span,
                              bool add_generation_prompt, const std::string& bos_text,
                              const ChatOptions& options) {
  check_roles(span);
  std::vector<ChatMessage> own(span.begin(), span.end());
  // Earlier answers go back without their reasoning, as the thinking templates render them.
  for (auto& m : own) {
    // (DeepSeek-R1's renderer cuts at its last "</think>" itself, keeping what follows as is.)
    if (m.role != "assistant" || format == ChatFormat::deepseek_r1) continue;
    if (thinks(format, options) || trim(m.content).starts_with("<think>"))
      m.content = strip_reasoning(m.content);
  }
  const ToolStyle style = tool_style(format);
  if (style == ToolStyle::generic) own = generic_tool_messages(std::move(own), options);
  const Messages messages(own);
  PromptText out = PromptText::of_markup(bos_text);
  switch (format) {
    case ChatFormat::llama3:
      render_llama3(messages, add_generation_prompt, options, out);
      break;
    case ChatFormat::chatml:
      render_chatml(messages, add_generation_prompt, options, out);
      break;
    case ChatFormat::deepseek_r1:
      render_deepseek_r1(messages, add_generation_prompt, out);
      break;
    case ChatFormat::phi3:
      render_phi3(messages, add_generation_prompt, out);
      break;
    case ChatFormat::mistral_inst:
      render_mistral(messages, /*tekken=*/false, options, out);
      break;
    case ChatFormat::mistral_v7_tekken:
      render_mistral(messages, /*tekken=*/true, options, out);
      break;
    case ChatFormat::gemma:
      render_gemma(messages, add_generation_prompt, out);
      break;
  }
  if (!add_generation_prompt) return out;
  // Thinking off: the reasoning block is opened (or already open) and closed empty.
  // A forced call skips the reasoning too: the call's opening must come right away.
  if ((!options.thinking || options.forced()) && thinks(format, options))
    out.markup(format == ChatFormat::deepseek_r1 ? "\n</think>\n\n" : "<think>\n\n</think>\n\n");
  if (options.forced()) {
    if (style == ToolStyle::mistral) out.markup("[TOOL_CALLS]");
    else if (style != ToolStyle::llama3) out.markup("<tool_call>\n");
  }
  return out;
}

std::string render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, const std::string& bos_text) {
  return render_chat_prompt(format, messages, add_generation_prompt, bos_text).text();
}

}  // namespace hearth::chat
