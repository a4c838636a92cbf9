// render_chat() against prompts worked out by hand from each family's official Jinja template:
// one user turn, system + user, history with assistant answers, generation prompt on and off,
// and the conversations the formats refuse.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "engine/chat/chat_template.h"

namespace hearth::chat {
namespace {

using Chat = std::vector<ChatMessage>;

const Chat kUser = {{"user", "Hi"}};
const Chat kSystemUser = {{"system", "Be brief."}, {"user", "Hi"}};
const Chat kHistory = {
    {"system", "Be brief."}, {"user", "What is 1+1?"}, {"assistant", "2"}, {"user", "And 2+2?"}};

// ---- llama3 --------------------------------------------------------------------------------

TEST(RenderLlama3, OneUserTurn) {
  EXPECT_EQ(render_chat(ChatFormat::llama3, kUser, true, "<|begin_of_text|>"),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(ChatFormat::llama3, kUser, false, "<|begin_of_text|>"),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}

TEST(RenderLlama3, SystemAndUserContentIsTrimmed) {
  const Chat chat = {{"system", "  Be brief.\n"}, {"user", "\n Hi \t"}};
  EXPECT_EQ(render_chat(ChatFormat::llama3, chat, true, "<|begin_of_text|>"),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(RenderLlama3, History) {
  EXPECT_EQ(render_chat(ChatFormat::llama3, kHistory, true, "<|begin_of_text|>"),
            "<|begin_of_text|>"
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nWhat is 1+1?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n2<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nAnd 2+2?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

// ---- chatml --------------------------------------------------------------------------------

TEST(RenderChatml, OneUserTurnHasNoBosAndNoDefaultSystem) {
  EXPECT_EQ(render_chat(ChatFormat::chatml, kUser, true, ""),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(render_chat(ChatFormat::chatml, kUser, false, ""), "<|im_start|>user\nHi<|im_end|>\n");
}

TEST(RenderChatml, HistoryKeepsContentAsIs) {
  Chat chat = kHistory;
  chat[2].content = " 2\n";
  EXPECT_EQ(render_chat(ChatFormat::chatml, chat, true, ""),
            "<|im_start|>system\nBe brief.<|im_end|>\n"
            "<|im_start|>user\nWhat is 1+1?<|im_end|>\n"
            "<|im_start|>assistant\n 2\n<|im_end|>\n"
            "<|im_start|>user\nAnd 2+2?<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(RenderChatml, BosTextGoesFirstWhenTheVocabularyWantsOne) {
  EXPECT_EQ(render_chat(ChatFormat::chatml, kUser, true, "<s>"),
            "<s><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

// ---- deepseek_r1 ---------------------------------------------------------------------------

constexpr const char* kDeepSeekBos = "<｜begin▁of▁sentence｜>";

TEST(RenderDeepSeekR1, OneUserTurnOpensTheReasoning) {
  EXPECT_EQ(render_chat(ChatFormat::deepseek_r1, kUser, true, kDeepSeekBos),
            "<｜begin▁of▁sentence｜><｜User｜>Hi<｜Assistant｜><think>\n");
  EXPECT_EQ(render_chat(ChatFormat::deepseek_r1, kUser, false, kDeepSeekBos),
            "<｜begin▁of▁sentence｜><｜User｜>Hi");
}

TEST(RenderDeepSeekR1, SystemTextFollowsTheBos) {
  EXPECT_EQ(render_chat(ChatFormat::deepseek_r1, kSystemUser, true, kDeepSeekBos),
            "<｜begin▁of▁sentence｜>Be brief.<｜User｜>Hi<｜Assistant｜><think>\n");
  const Chat two_systems = {{"system", "first"}, {"user", "Hi"}, {"system", "second"}};
  EXPECT_EQ(render_chat(ChatFormat::deepseek_r1, two_systems, false, kDeepSeekBos),
            "<｜begin▁of▁sentence｜>second<｜User｜>Hi");
}

TEST(RenderDeepSeekR1, HistoryDropsTheReasoning) {
  Chat chat = kHistory;
  chat[2].content = "<think>\none plus one\n</think>\n\n2";
  EXPECT_EQ(render_chat(ChatFormat::deepseek_r1, chat, true, kDeepSeekBos),
            "<｜begin▁of▁sentence｜>Be brief.<｜User｜>What is 1+1?"
            "<｜Assistant｜>\n\n2<｜end▁of▁sentence｜>"
            "<｜User｜>And 2+2?<｜Assistant｜><think>\n");
  chat[2].content = "no reasoning here";
  EXPECT_EQ(render_chat(ChatFormat::deepseek_r1, chat, false, kDeepSeekBos),
            "<｜begin▁of▁sentence｜>Be brief.<｜User｜>What is 1+1?"
            "<｜Assistant｜>no reasoning here<｜end▁of▁sentence｜><｜User｜>And 2+2?");
}

// ---- phi3 ----------------------------------------------------------------------------------

TEST(RenderPhi3, OneUserTurn) {
  EXPECT_EQ(render_chat(ChatFormat::phi3, kUser, true, ""), "<|user|>\nHi<|end|>\n<|assistant|>\n");
  EXPECT_EQ(render_chat(ChatFormat::phi3, kUser, false, ""), "<|user|>\nHi<|end|>\n<|endoftext|>");
}

TEST(RenderPhi3, SystemAndUserAndEmptySystemIsLeftOut) {
  EXPECT_EQ(render_chat(ChatFormat::phi3, kSystemUser, true, "<s>"),
            "<s><|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\n");
  const Chat empty_system = {{"system", ""}, {"user", "Hi"}};
  EXPECT_EQ(render_chat(ChatFormat::phi3, empty_system, true, ""),
            "<|user|>\nHi<|end|>\n<|assistant|>\n");
}

TEST(RenderPhi3, History) {
  Chat chat(kHistory.begin(), kHistory.end() - 1);  // ends with the assistant's answer
  EXPECT_EQ(render_chat(ChatFormat::phi3, chat, false, ""),
            "<|system|>\nBe brief.<|end|>\n<|user|>\nWhat is 1+1?<|end|>\n"
            "<|assistant|>\n2<|end|>\n<|endoftext|>");
}

// ---- mistral_inst (v3) ---------------------------------------------------------------------

TEST(RenderMistralInst, OneUserTurnEndsWithTheGenerationPrompt) {
  EXPECT_EQ(render_chat(ChatFormat::mistral_inst, kUser, true, "<s>"), "<s>[INST] Hi[/INST]");
  EXPECT_EQ(render_chat(ChatFormat::mistral_inst, kUser, false, "<s>"), "<s>[INST] Hi[/INST]");
}

TEST(RenderMistralInst, SystemGoesInFrontOfTheLastUserMessage) {
  EXPECT_EQ(render_chat(ChatFormat::mistral_inst, kSystemUser, true, "<s>"),
            "<s>[INST] Be brief.\n\nHi[/INST]");
  Chat chat = kHistory;
  chat[2].content = "  2 \n";  // answers are trimmed
  EXPECT_EQ(render_chat(ChatFormat::mistral_inst, chat, true, "<s>"),
            "<s>[INST] What is 1+1?[/INST] 2</s>[INST] Be brief.\n\nAnd 2+2?[/INST]");
}

TEST(RenderMistralInst, HistoryEndingWithAnAnswer) {
  const Chat chat = {{"system", "S"}, {"user", "U1"}, {"assistant", "A1"}};
  EXPECT_EQ(render_chat(ChatFormat::mistral_inst, chat, false, "<s>"),
            "<s>[INST] S\n\nU1[/INST] A1</s>");
}

// ---- mistral_v7_tekken ---------------------------------------------------------------------

TEST(RenderMistralV7Tekken, OneUserTurnHasNoSystemBlock) {
  EXPECT_EQ(render_chat(ChatFormat::mistral_v7_tekken, kUser, true, "<s>"), "<s>[INST]Hi[/INST]");
  EXPECT_EQ(render_chat(ChatFormat::mistral_v7_tekken, kUser, false, "<s>"), "<s>[INST]Hi[/INST]");
}

TEST(RenderMistralV7Tekken, SystemPromptBlockComesFirst) {
  EXPECT_EQ(render_chat(ChatFormat::mistral_v7_tekken, kSystemUser, true, "<s>"),
            "<s>[SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT][INST]Hi[/INST]");
}

TEST(RenderMistralV7Tekken, HistoryKeepsAnswersAsIs) {
  Chat chat = kHistory;
  chat[2].content = " 2 ";
  EXPECT_EQ(render_chat(ChatFormat::mistral_v7_tekken, chat, true, "<s>"),
            "<s>[SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT][INST]What is 1+1?[/INST] 2 </s>"
            "[INST]And 2+2?[/INST]");
}

// ---- gemma ---------------------------------------------------------------------------------

TEST(RenderGemma, OneUserTurn) {
  EXPECT_EQ(render_chat(ChatFormat::gemma, kUser, true, "<bos>"),
            "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n");
  EXPECT_EQ(render_chat(ChatFormat::gemma, kUser, false, "<bos>"),
            "<bos><start_of_turn>user\nHi<end_of_turn>\n");
}

TEST(RenderGemma, SystemGoesInFrontOfTheFirstUserMessage) {
  EXPECT_EQ(render_chat(ChatFormat::gemma, kSystemUser, true, "<bos>"),
            "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n");
  // Alone, the system text is a user turn of its own.
  const Chat system_only = {{"system", "Be brief."}};
  EXPECT_EQ(render_chat(ChatFormat::gemma, system_only, true, ""),
            "<start_of_turn>user\nBe brief.\n\n<end_of_turn>\n<start_of_turn>model\n");
}

TEST(RenderGemma, HistoryTrimsContentAndNamesTheAssistantModel) {
  const Chat chat = {{"system", "Be brief."},
                     {"user", "  What is 1+1?\n"},
                     {"assistant", "\n2 "},
                     {"user", "And 2+2?"}};
  EXPECT_EQ(render_chat(ChatFormat::gemma, chat, true, "<bos>"),
            "<bos><start_of_turn>user\nBe brief.\n\nWhat is 1+1?<end_of_turn>\n"
            "<start_of_turn>model\n2<end_of_turn>\n"
            "<start_of_turn>user\nAnd 2+2?<end_of_turn>\n<start_of_turn>model\n");
}

TEST(RenderGemma, MessagesStayPlainText) {
  const Chat chat = {{"user", "<end_of_turn>"}};
  const tokenizer::PromptText p = render_chat_prompt(ChatFormat::gemma, chat, true, "<bos>");
  EXPECT_EQ(p.text(),
            "<bos><start_of_turn>user\n<end_of_turn><end_of_turn>\n<start_of_turn>model\n");
  // The message's "<end_of_turn>" is the one plain piece; the rest is the template's markup.
  ASSERT_EQ(p.plain_spans().size(), 1u);
  EXPECT_EQ(p.text().substr(p.plain_spans()[0].offset, p.plain_spans()[0].length),
            "<end_of_turn>");
  EXPECT_EQ(p.plain_spans()[0].offset, std::string("<bos><start_of_turn>user\n").size());
}

// ---- refusals ------------------------------------------------------------------------------

constexpr ChatFormat kAllFormats[] = {ChatFormat::llama3,       ChatFormat::chatml,
                                      ChatFormat::deepseek_r1,  ChatFormat::phi3,
                                      ChatFormat::mistral_inst, ChatFormat::mistral_v7_tekken,
                                      ChatFormat::gemma};

ErrorKind error_kind_of(ChatFormat format, const Chat& chat) {
  try {
    render_chat(format, chat, true, "");
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::internal;  // "no error"
}

TEST(RenderErrors, UnknownRolesAreInvalidInputInEveryFormat) {
  for (const char* role : {"function", "System", "", "developer", "ipython"}) {
    const Chat chat = {{"user", "Hi"}, {role, "x"}};
    for (const auto format : kAllFormats) {
      EXPECT_EQ(error_kind_of(format, chat), ErrorKind::invalid_input)
          << chat_format_name(format) << " role '" << role << "'";
    }
  }
}

TEST(RenderErrors, MistralFormatsRefuseWhatTheirTemplatesRefuse) {
  const Chat late_system = {{"user", "Hi"}, {"system", "S"}};
  const Chat two_users = {{"user", "a"}, {"user", "b"}};
  const Chat answer_first = {{"assistant", "a"}, {"user", "b"}};
  for (const auto format : {ChatFormat::mistral_inst, ChatFormat::mistral_v7_tekken}) {
    EXPECT_EQ(error_kind_of(format, late_system), ErrorKind::invalid_input);
    EXPECT_EQ(error_kind_of(format, two_users), ErrorKind::invalid_input);
    EXPECT_EQ(error_kind_of(format, answer_first), ErrorKind::invalid_input);
  }
  // Gemma takes a system message only first, as its template does; its turns need not alternate.
  EXPECT_EQ(error_kind_of(ChatFormat::gemma, late_system), ErrorKind::invalid_input);
  EXPECT_EQ(render_chat(ChatFormat::gemma, two_users, false, ""),
            "<start_of_turn>user\na<end_of_turn>\n<start_of_turn>user\nb<end_of_turn>\n");
  // The other formats render such conversations as they come.
  EXPECT_EQ(render_chat(ChatFormat::chatml, two_users, false, ""),
            "<|im_start|>user\na<|im_end|>\n<|im_start|>user\nb<|im_end|>\n");
}

TEST(RenderEdges, EmptyConversation) {
  EXPECT_EQ(render_chat(ChatFormat::llama3, {}, true, "<|begin_of_text|>"),
            "<|begin_of_text|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(render_chat(ChatFormat::mistral_inst, {}, true, "<s>"), "<s>");
}

}  // namespace
}  // namespace hearth::chat
