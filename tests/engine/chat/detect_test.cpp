// Recognising formats from excerpts of real chat templates, the ChatML fallback and its warning,
// the GGUF helpers, and the conformance vocabularies' own templates.
#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "core/error.h"
#include "engine/chat/chat_template.h"
#include "support/test_support.h"

namespace hearth::chat {
namespace {

using Chat = std::vector<ChatMessage>;

// Excerpts of the official templates, enough to carry each family's markers.
constexpr const char* kLlama3 =
    "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
    "message['content'] | trim + '<|eot_id|>' %}";
constexpr const char* kQwen25 =
    "{%- else %}\n{%- if messages[0]['role'] == 'system' %}\n"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n{%- else %}\n"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
    "assistant.<|im_end|>\\n' }}\n{%- endif %}";
constexpr const char* kQwen2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}";
constexpr const char* kDeepSeekR1 =
    "{%- if '</think>' in content -%}{%- set content = content.split('</think>')[-1] -%}"
    "{%- endif -%}{{'<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>'}}";
constexpr const char* kPhi3 =
    "{% elif message['role'] == 'user' %}{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}";
constexpr const char* kMistralV7 =
    "{{- '[SYSTEM_PROMPT]' + system_message + '[/SYSTEM_PROMPT]' }}{%- for message in "
    "loop_messages %}{%- if message['role'] == 'user' %}{{- '[INST]' + message['content'] + "
    "'[/INST]' }}";
constexpr const char* kMistralV3 =
    "{%- if loop.last and system_message is defined %}{{- \"[INST] \" + system_message + "
    "\"\\n\\n\" + message[\"content\"] + \"[/INST]\" }}";
constexpr const char* kGemma =
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}";
// A family hearth has no format for (Command R).
constexpr const char* kCommandR =
    "{{ '<|START_OF_TURN_TOKEN|><|USER_TOKEN|>' + message['content'] + '<|END_OF_TURN_TOKEN|>' }}";

TEST(DetectChatFormat, RecognisesEachFamily) {
  const std::vector<std::pair<const char*, ChatFormat>> cases = {
      {kLlama3, ChatFormat::llama3},
      {kQwen25, ChatFormat::chatml},
      {kQwen2, ChatFormat::chatml},
      {kDeepSeekR1, ChatFormat::deepseek_r1},
      {kPhi3, ChatFormat::phi3},
      {kMistralV7, ChatFormat::mistral_v7_tekken},
      {kMistralV3, ChatFormat::mistral_inst},
      {kGemma, ChatFormat::gemma},
  };
  for (const auto& [text, expected] : cases) {
    bool recognised = false;
    EXPECT_EQ(detect_chat_format(text, &recognised), expected) << text;
    EXPECT_TRUE(recognised) << text;
  }
}

// Captures what is logged while it lives.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16)),
        previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  std::string text() const {
    std::string all;
    for (const auto& line : sink_->last_formatted()) all += line;
    return all;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(DetectChatFormat, UnrecognisedFallsBackToChatmlWithAWarning) {
  LogCapture log;
  bool recognised = true;
  EXPECT_EQ(detect_chat_format(kCommandR, &recognised), ChatFormat::chatml);
  EXPECT_FALSE(recognised);
  EXPECT_NE(log.text().find("unrecognised chat template"), std::string::npos) << log.text();

  recognised = true;
  EXPECT_EQ(detect_chat_format("", &recognised), ChatFormat::chatml);
  EXPECT_FALSE(recognised);
  EXPECT_EQ(detect_chat_format("<|assistant|> without the end marker"), ChatFormat::chatml);
}

TEST(DefaultSystemPrompt, ReadsTheFixedSystemTurn) {
  EXPECT_EQ(default_system_prompt(kQwen25),
            "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
  EXPECT_EQ(default_system_prompt(kQwen2), "You are a helpful assistant.");
  // Real newlines instead of the "\n" escape.
  EXPECT_EQ(default_system_prompt("{{ '<|im_start|>system\nBe nice.<|im_end|>\n' }}"), "Be nice.");
}

TEST(DefaultSystemPrompt, NoneWhereTheTemplateOnlyInsertsTheUsersSystem) {
  EXPECT_EQ(default_system_prompt("{{- '<|im_start|>system\\n' + messages[0].content + "
                                  "'<|im_end|>\\n' }}"),
            "");
  EXPECT_EQ(default_system_prompt(kLlama3), "");
  EXPECT_EQ(default_system_prompt(""), "");
  EXPECT_EQ(default_system_prompt("<|im_start|>system\\n<|im_end|>"), "");
}

gguf::File file_with(std::vector<uint8_t>& bytes, std::optional<gguf::Value> chat_template) {
  gguf::Writer writer;
  writer.set("general.architecture", gguf::Value::of_string("llama"));
  if (chat_template) writer.set("tokenizer.chat_template", *chat_template);
  bytes = writer.to_bytes();
  return gguf::File::parse(bytes, "test.gguf");
}

TEST(FormatFromGguf, ReadsTheTemplateKey) {
  std::vector<uint8_t> bytes;
  EXPECT_EQ(format_from_gguf(file_with(bytes, gguf::Value::of_string(kDeepSeekR1))),
            ChatFormat::deepseek_r1);
  EXPECT_EQ(format_from_gguf(file_with(bytes, gguf::Value::of_string(kMistralV3))),
            ChatFormat::mistral_inst);
}

TEST(FormatFromGguf, MissingTemplateIsChatmlWithAWarning) {
  LogCapture log;
  std::vector<uint8_t> bytes;
  EXPECT_EQ(format_from_gguf(file_with(bytes, std::nullopt)), ChatFormat::chatml);
  EXPECT_NE(log.text().find("no tokenizer.chat_template"), std::string::npos) << log.text();
}

TEST(FormatFromGguf, TemplateOfTheWrongTypeIsCorrupt) {
  std::vector<uint8_t> bytes;
  const auto file = file_with(bytes, gguf::Value::of_u32(7));
  try {
    format_from_gguf(file);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt_file);
  }
}

// The vocabularies in the conformance pack carry real templates (Llama 3, Phi-3-medium, Qwen3).
TEST(ConformanceTemplates, DetectedAndRenderedIntoSpecialTokens) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  struct Case {
    const char* file;
    ChatFormat format;
    const char* bos_text;
  };
  for (const Case& c : {Case{"ggml-vocab-llama-bpe.gguf", ChatFormat::llama3, "<|begin_of_text|>"},
                        Case{"ggml-vocab-phi-3.gguf", ChatFormat::phi3, "<s>"},
                        Case{"ggml-vocab-qwen2.gguf", ChatFormat::chatml, ""}}) {
    SCOPED_TRACE(c.file);
    const auto file = gguf::File::open(dir / "tokenizer" / c.file);
    EXPECT_EQ(format_from_gguf(file), c.format);
    EXPECT_EQ(default_system_prompt(*file.get_string("tokenizer.chat_template")), "");
    const auto tokenizer = tokenizer::Tokenizer::from_gguf(file);
    const std::string bos = prompt_bos_text(tokenizer);
    EXPECT_EQ(bos, c.bos_text);

    const Chat chat = {{"system", "Be brief."}, {"user", "Hi"}};
    const std::string prompt = render_chat(c.format, chat, true, bos);
    const auto ids = tokenizer.encode(prompt, /*add_special=*/false, /*parse_special=*/true);
    ASSERT_FALSE(ids.empty());
    // Exactly one BOS, where the vocabulary wants one, and the markers as single special tokens.
    EXPECT_EQ(std::count(ids.begin(), ids.end(), tokenizer.bos()), tokenizer.add_bos() ? 1 : 0);
    if (tokenizer.add_bos()) {
      EXPECT_EQ(ids.front(), tokenizer.bos());
    }
    int special = 0;
    for (const int32_t id : ids) {
      special += tokenizer.token_type(id) == tokenizer::TokenType::control ||
                 tokenizer.token_type(id) == tokenizer::TokenType::user_defined;
    }
    EXPECT_GE(special, 4) << prompt;
    // SentencePiece vocabularies put a space after special tokens (as llama.cpp does), so only
    // byte-level ones give the prompt back unchanged.
    if (tokenizer.model() == tokenizer::TokenizerModel::bpe) {
      EXPECT_EQ(tokenizer.decode(ids, /*render_special=*/true), prompt);
    }
  }
}

}  // namespace
}  // namespace hearth::chat
