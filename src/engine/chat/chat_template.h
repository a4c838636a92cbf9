// Chat templates: a conversation -> the prompt text a chat model was trained on.
//
// hearth does not run Jinja. It recognises the model family from the distinctive markers in the
// GGUF key tokenizer.chat_template and renders that family's format in C++, byte for byte what
// the family's official template renders for plain text conversations (no tools, no images).
//
//   llama3            Llama 3 Instruct. Each message "<|start_header_id|>ROLE<|end_header_id|>\n\n"
//                     + content with surrounding whitespace trimmed + "<|eot_id|>"; generation
//                     prompt "<|start_header_id|>assistant<|end_header_id|>\n\n". The Llama 3.1+
//                     templates also open with a system turn stating "Cutting Knowledge Date" and
//                     today's date; hearth leaves that preamble out (as llama.cpp's built-in
//                     llama3 format and Ollama's llama3.1 template do).
//   chatml            Qwen2/2.5/3, Hermes and other ChatML models, and the fallback. Each message
//                     "<|im_start|>ROLE\n" + content + "<|im_end|>\n"; generation prompt
//                     "<|im_start|>assistant\n". A fixed system turn that some templates add when
//                     the conversation has none (Qwen2.5: "You are Qwen, created by Alibaba
//                     Cloud. You are a helpful assistant.") is not rendered here: read it with
//                     default_system_prompt() and put it in front of the messages.
//   deepseek_r1       DeepSeek-R1 and its distills. The last system message's text right after
//                     the BOS, then "<｜User｜>" + content and "<｜Assistant｜>" + answer +
//                     "<｜end▁of▁sentence｜>", where the answer is what follows the last "</think>"
//                     of an assistant message (history keeps no reasoning); generation prompt
//                     "<｜Assistant｜><think>\n" (the template revision that opens the reasoning).
//   phi3              Phi-3 / Phi-3.5 mini. Each message "<|ROLE|>\n" + content + "<|end|>\n",
//                     an empty system message left out; generation prompt "<|assistant|>\n",
//                     otherwise the text ends with "<|endoftext|>" (the EOS). Phi-3-medium's
//                     template drops system messages; hearth renders them in this same form,
//                     which the vocabulary has tokens for.
//   mistral_inst      Mistral v3 ([INST], SentencePiece vocabularies: Mistral 7B v0.3, Mixtral).
//                     "[INST] " + content + "[/INST]" for a user message, " " + trimmed answer +
//                     "</s>" for an assistant one; the system message goes in front of the last
//                     user message, followed by "\n\n".
//   mistral_v7_tekken Mistral Small 3.x, Devstral, Magistral. "[SYSTEM_PROMPT]" + system +
//                     "[/SYSTEM_PROMPT]" when there is a system message, "[INST]" + content +
//                     "[/INST]" per user message, answer + "</s>" per assistant one. The default
//                     system prompts of some of these templates (with today's date) are not
//                     rendered; hearth adds no system message of its own.
//   gemma             Gemma 2 and 3. Each message "<start_of_turn>ROLE\n" + content with
//                     surrounding whitespace trimmed + "<end_of_turn>\n", where the assistant's
//                     ROLE is "model"; generation prompt "<start_of_turn>model\n". A system
//                     message (only as the first message, as in the official template) goes in
//                     front of the next message's content followed by "\n\n"; alone, it makes
//                     a user turn of its own (the template would drop it). Unlike the template,
//                     turns need not alternate.
// Both Mistral formats end a user turn with "[/INST]", which is already the generation prompt, so
// add_generation_prompt changes nothing for them. As in their official templates, they accept a
// system message only as the first message, and then strictly alternating user and assistant
// messages starting with a user message; anything else is Error(invalid_input).
//
// BOS rule: the rendered prompt is bos_text followed by the conversation, for every format.
// Callers pass prompt_bos_text(tokenizer): the BOS token's text when the vocabulary asks for a BOS
// (Tokenizer::add_bos()), else "". They then tokenize the prompt with add_special = false, so the
// BOS is the one in the text and special-token text in the template becomes special tokens. This
// gives the same tokens as llama.cpp, which removes the BOS a template renders and lets add_bos
// decide; and for the official GGUFs of these families (whose templates render the BOS exactly
// when add_bos is set) the same text as the Jinja template.
//
// Messages cannot inject control tokens: render_chat_prompt() returns a tokenizer::PromptText in
// which the template's text (and the BOS) is markup and every message's text (content, system
// text, answers) is plain, and Tokenizer::encode(const PromptText&, bool) turns special-token text
// into special tokens only in the markup. A message that says "<|im_end|>" or "</s>" is tokenized
// as those characters; a conversation without such text gives exactly the tokens of the whole
// prompt text tokenized with parse_special = true.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/prompt_text.h"
#include "engine/tokenizer/tokenizer.h"

namespace hearth::chat {

// A call the assistant made to one of the tools it was offered (tools.h).
struct ToolCall {
  std::string id;         // the caller's id for it ("" when the model gave none)
  std::string name;       // the function's name
  std::string arguments;  // a JSON object's text
  bool operator==(const ToolCall&) const = default;
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant" or "tool"
  std::string content;
  // (Default member initializers keep {role, content} brace-initialisation warning-free.)
  std::vector<ToolCall> tool_calls = {};  // assistant: the calls it made
  std::string tool_call_id = {};          // tool: the call this message answers
  std::string tool_name = {};             // tool: the function that answered (may be "")
  bool operator==(const ChatMessage&) const = default;
};

enum class ChatFormat { llama3, chatml, deepseek_r1, phi3, mistral_inst, mistral_v7_tekken, gemma };

// "llama3", "chatml", "deepseek_r1", "phi3", "mistral_inst", "mistral_v7_tekken", "gemma".
std::string_view chat_format_name(ChatFormat format);

// The format of a Jinja chat template, chosen by its markers (checked in this order):
// "<｜Assistant｜>" (fullwidth bars) deepseek_r1; "<|start_header_id|>" llama3; "<|im_start|>"
// chatml; "<start_of_turn>" gemma; "<|assistant|>" with "<|end|>" phi3; "[SYSTEM_PROMPT]"
// mistral_v7_tekken; "[INST]" mistral_inst. Anything else, the empty text included, gives chatml with a warning in the log.
// `recognised` (may be null) tells whether a marker matched.
ChatFormat detect_chat_format(std::string_view jinja_template_text, bool* recognised = nullptr);

// detect_chat_format() of the file's tokenizer.chat_template; chatml with a warning when the key
// is missing. Error(corrupt_file) when the key holds something other than a string.
ChatFormat format_from_gguf(const gguf::File& file);

// The fixed system message a ChatML template renders when the conversation does not start with
// one (Qwen2: "You are a helpful assistant."; Qwen2.5: "You are Qwen, created by Alibaba Cloud.
// You are a helpful assistant."): the plain text of the first literal "<|im_start|>system\n...
// <|im_end|>" in the template. "" when there is none. Callers that want the template's exact
// output put {"system", this} in front of a conversation that has no system message first.
std::string default_system_prompt(std::string_view jinja_template_text);

// The BOS text to pass to render_chat(): the BOS token's text when tokenizer.add_bos() is true
// and the vocabulary has a BOS, else "".
std::string prompt_bos_text(const tokenizer::Tokenizer& tokenizer);

// The prompt for `messages` in `format` (see above), markup and plain text told apart.
// add_generation_prompt: end with the opening of an assistant turn, for the model to complete.
// Error(invalid_input) for a role other than system, user and assistant, and for the message
// orders the Mistral and Gemma formats refuse.
tokenizer::PromptText render_chat_prompt(ChatFormat format, std::span<const ChatMessage> messages,
                                         bool add_generation_prompt, const std::string& bos_text);

// The text of render_chat_prompt(), for showing; tokenize the PromptText, not this.
std::string render_chat(ChatFormat format, std::span<const ChatMessage> messages,
                        bool add_generation_prompt, const std::string& bos_text);

}  // namespace hearth::chat
