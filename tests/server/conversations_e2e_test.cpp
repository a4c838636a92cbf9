// End to end: conversations kept by the real `hearth serve`, rated through the feedback API,
// exported as training data and validated by `hearth data validate` (issue: conversations,
// feedback and training data). Runs as two users with tokens, so isolation is checked too.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "server/chat_client.h"
#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::test::http;
using hearth::test::HttpOptions;
using hearth::test::HttpResult;
using hearth::test::ServerProcess;
using hearth::test::token_for;
using Client = hearth::test::ChatClient;
using hearth::test::json_from;
using hearth::test::json_lines;
namespace json = boost::json;

TEST(ConversationsEndToEnd, KeptRatedExportedAndValidated) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  hearth::test::TempDir home;
  const std::vector<std::pair<std::string, std::string>> env{{"HEARTH_HOME", home.path().string()}};
  const std::string alice_token = token_for(env, "alice");
  const std::string bob_token = token_for(env, "bob");
  ASSERT_FALSE(alice_token.empty());
  ASSERT_FALSE(bob_token.empty());
  ServerProcess server(home.path());
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const Client alice(server, alice_token), bob(server, bob_token);
  // alice pulls the model over loopback HTTP (a file of the server's own disk is the local
  // user's only).
  hearth::test::HttpFileServer files(dir / "models");
  // Installs "llama3-f16".
  const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
  HttpResult r = alice.call("POST", "/api/pull", &pull);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value opt_in{{"training_opt_in", true}};
  ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);

  // 260 conversations. Every 10th is continued with a second question, every 13th has its
  // answer regenerated first; ratings follow i % 5.
  constexpr int kConversations = 260;
  std::map<int, std::int64_t> conversation_of;  // i -> conversation id
  std::map<std::string, int> index_of_question;  // first question -> i
  std::map<std::int64_t, double> score_of;       // message id -> quality score
  std::set<std::int64_t> replaced;               // answers that were regenerated
  int rated = 0;
  for (int i = 0; i < kConversations; ++i) {
    const std::string question = "question number " + std::to_string(i);
    index_of_question[question] = i;
    json::array messages{json::object{{"role", "system"}, {"content", "Be brief."}},
                         json::object{{"role", "user"}, {"content", question}}};
    json::value answer = alice.chat(messages);
    ASSERT_TRUE(hearth::test::has_key(answer, "hearth")) << answer;
    std::int64_t conversation = answer.at_pointer("/hearth/conversation_id").as_int64();
    std::int64_t message = answer.at_pointer("/hearth/message_id").as_int64();
    if (i % 13 == 0) {  // ask again for the same turn: the first answer counts as regenerated
      // (a first answer is regenerated only with the conversation's id: conversation_capture.h)
      const json::value again =
          alice.chat(messages, {"X-Hearth-Conversation-Id: " + std::to_string(conversation)});
      ASSERT_EQ(again.at_pointer("/hearth/conversation_id").as_int64(), conversation) << again;
      const std::int64_t first = message;
      message = again.at_pointer("/hearth/message_id").as_int64();
      EXPECT_NE(message, first);
      answer = again;
      replaced.insert(first);
    }
    conversation_of[i] = conversation;
    // Feedback: 5 / thumbs up / correction / thumbs down / 2.
    json::value feedback;
    switch (i % 5) {
      case 0: feedback = {{"rating", 5}}; break;
      case 1: feedback = {{"thumbs", "up"}, {"reason", "helpful"}}; break;
      case 2: feedback = {{"corrected_answer", "The right answer to " + question}}; break;
      case 3: feedback = {{"thumbs", "down"}, {"comment", "wrong"}}; break;
      default: feedback = {{"rating", 2}}; break;
    }
    r = alice.call("POST", "/api/conversations/" + std::to_string(conversation) + "/messages/" +
                               std::to_string(message) + "/feedback", &feedback);
    ASSERT_EQ(r.status, 200) << r.body;
    score_of[message] = json_from(r.body).at("quality_score").to_number<double>();
    ++rated;
    if (i % 10 == 0) {  // continue: the rated answer was followed by another question
      messages.push_back(json::object{
          {"role", "assistant"}, {"content", answer.at_pointer("/choices/0/message/content")}});
      messages.push_back(json::object{{"role", "user"}, {"content", "and then?"}});
      const json::value next = alice.chat(messages);
      EXPECT_EQ(next.at_pointer("/hearth/conversation_id").as_int64(), conversation) << next;
    }
  }
  EXPECT_EQ(rated, kConversations);

  // What the API says about one continued and one regenerated conversation.
  r = alice.call("GET", "/api/conversations/" + std::to_string(conversation_of[0]));
  ASSERT_EQ(r.status, 200);
  const json::value c0 = json_from(r.body);
  int live_answers = 0;
  for (const auto& m : c0.at("messages").as_array()) {
    if (m.at("role") != json::value("assistant")) continue;
    ++live_answers;
    EXPECT_EQ(replaced.count(m.at("id").to_number<std::int64_t>()), 0u)
        << "a regenerated answer is still live: " << c0;
  }
  EXPECT_EQ(live_answers, 2) << c0;  // 0 % 10 == 0: two answers in the live history
  EXPECT_EQ(c0.at_pointer("/messages/2/continued"), json::value(true)) << c0;

  // Bad input changes nothing.
  const json::value bad_rating{{"rating", 9}};
  const std::string fb0 = "/api/conversations/" + std::to_string(conversation_of[1]) + "/messages/";
  EXPECT_EQ(alice.call("POST", fb0 + "999999/feedback", &bad_rating).status, 404);
  r = alice.call("GET", "/api/conversations/" + std::to_string(conversation_of[1]));
  const std::int64_t answer1 =
      json_from(r.body).at("messages").as_array().back().at("id").as_int64();
  EXPECT_EQ(alice.call("POST", fb0 + std::to_string(answer1) + "/feedback", &bad_rating).status, 400);
  const json::value thumbs_up{{"thumbs", "up"}};
  EXPECT_EQ(bob.call("POST", fb0 + std::to_string(answer1) + "/feedback", &thumbs_up).status, 404);
  EXPECT_EQ(bob.call("GET", "/api/conversations/" + std::to_string(conversation_of[1])).status, 404);
  EXPECT_EQ(bob.call("DELETE", "/api/conversations/" + std::to_string(conversation_of[1])).status, 404);
  r = alice.call("GET", "/api/conversations/" + std::to_string(conversation_of[1]));
  EXPECT_EQ(
      json_from(r.body).at("messages").as_array().back().at_pointer("/feedback/thumbs").as_string(),
      "up");  // unchanged

  // Readiness, then the 100-example minimum at a threshold few answers pass.
  r = alice.call("GET", "/api/training/readiness");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::array ready = json_from(r.body).at("models").as_array();
  ASSERT_EQ(ready.size(), 1u) << r.body;
  EXPECT_GE(ready[0].at("qualifying_examples").to_number<int>(), 100) << r.body;
  const json::value strict{{"min_score", 0.99}};
  r = alice.call("POST", "/api/training/export-data", &strict);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("52"), std::string::npos) << r.body;  // the 52 rated 5 (i % 5 == 0)

  // The export itself.
  const json::value request{{"min_score", 0.7}, {"validation", 0.1}};
  r = alice.call("POST", "/api/training/export-data", &request);
  ASSERT_EQ(r.status, 201) << r.body;
  const json::value result = json_from(r.body);
  // Named by URLs, downloaded through the API.
  EXPECT_FALSE(hearth::test::has_key(result, "train_file")) << r.body;
  EXPECT_EQ(r.body.find(home.path().string()), std::string::npos) << r.body;
  const HttpResult train_text =
      alice.call("GET", json::value_to<std::string>(result.at("train_url")));
  const HttpResult validation_text =
      alice.call("GET", json::value_to<std::string>(result.at("validation_url")));
  ASSERT_EQ(train_text.status, 200) << train_text.body;
  ASSERT_EQ(validation_text.status, 200) << validation_text.body;
  const auto train = json_lines(train_text.body);
  const auto validation = json_lines(validation_text.body);
  EXPECT_EQ(train.size(), result.at("train_examples").to_number<size_t>());
  EXPECT_EQ(validation.size(), result.at("validation_examples").to_number<size_t>());
  EXPECT_GT(validation.size(), 0u);
  // Rated 5, thumbs up and corrected qualify (3 of every 5); thumbs down and 2 do not.
  EXPECT_EQ(train.size() + validation.size(), static_cast<size_t>(kConversations / 5 * 3));
  std::set<int> in_train, in_validation;
  for (const auto* split : {&train, &validation}) {
    for (const auto& example : *split) {
      const json::array& messages = example.at("messages").as_array();
      ASSERT_GE(messages.size(), 3u);
      EXPECT_EQ(messages[0].at("role").as_string(), "system");
      const int i = index_of_question.at(json::value_to<std::string>(messages[1].at("content")));
      (split == &train ? in_train : in_validation).insert(i);
      int weighted = 0;
      for (const auto& m : messages) {
        if (m.at("role") != json::value("assistant")) {
          EXPECT_FALSE(hearth::test::has_key(m, "weight")) << m;
          continue;
        }
        weighted += m.at("weight").to_number<int>();
      }
      // Exactly the rated answer carries weight 1 (a continuation's second answer is unrated).
      EXPECT_EQ(weighted, 1) << example;
      EXPECT_NE(i % 5, 3) << "a thumbs-down answer was exported: " << example;
      EXPECT_NE(i % 5, 4) << "an answer rated 2 was exported: " << example;
      if (i % 5 == 2) {  // the correction is the target
        EXPECT_EQ(messages[2].at("content").as_string(),
                  "The right answer to " + json::value_to<std::string>(messages[1].at("content")));
      }
    }
  }
  for (int i : in_train) {
    EXPECT_EQ(in_validation.count(i), 0u) << "conversation " << i << " in both files";
  }
  for (const auto& [id, score] : score_of) EXPECT_TRUE(score >= 0 && score <= 1) << id;

  // Every line passes `hearth data validate`.
  for (const HttpResult* file : {&train_text, &validation_text}) {
    const auto path = home.path() / "downloaded.jsonl";
    std::ofstream(path, std::ios::binary) << file->body;
    const auto v = hearth::test::run_hearth({"data", "validate", path.string()}, env);
    EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  }

  // bob's export never holds alice's data: he has none that qualifies.
  const json::value small{{"allow_small", true}};
  r = bob.call("POST", "/api/training/export-data", &small);
  if (r.status == 201) {
    const json::value b = json_from(r.body);
    EXPECT_EQ(b.at("train_examples").as_int64(), 0) << r.body;
    EXPECT_EQ(b.at("validation_examples").as_int64(), 0) << r.body;
  } else {
    EXPECT_EQ(r.status, 400) << r.body;
  }
  r = bob.call("GET", "/api/conversations");
  EXPECT_EQ(json_from(r.body).at("conversations").as_array().size(), 0u) << r.body;

  // Storing can be refused per request.
  HttpOptions no_store;
  no_store.headers = {"Authorization: Bearer " + alice_token, "X-Hearth-Store: false"};
  const std::string body = hearth::format_json(json::object{
      {"model", "llama3-f16"},
      {"messages", json::array{json::object{{"role", "user"}, {"content", "secret"}}}},
      {"max_tokens", 2}});
  r = http("POST", server.url("/v1/chat/completions"), &body, no_store);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(hearth::test::has_key(json_from(r.body), "hearth")) << r.body;
}

}  // namespace
