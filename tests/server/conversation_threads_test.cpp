// Which conversation a chat lands in, through the real `hearth serve` on SQLite and PostgreSQL
// (conversation_capture.h): a refused request stores nothing, independent chats never merge, a
// conversation is continued by its full exchange or its id, a regenerated answer stays beside
// its replacement, export uses the current branch, and datasets download through the API
// without naming files on the server.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "crypto/sealed_file.h"
#include "db/db_test_support.h"
#include "server/chat_client.h"
#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::test::ChatClient;
using hearth::test::HttpResult;
using hearth::test::ServerProcess;
using hearth::test::json_from;
namespace json = boost::json;

json::value user(const std::string& text) {
  return {{"role", "user"}, {"content", text}};
}
json::value assistant(const std::string& text) {
  return {{"role", "assistant"}, {"content", text}};
}
std::string answer_of(const json::value& chat) {
  return json::value_to<std::string>(chat.at_pointer("/choices/0/message/content"));
}
std::int64_t conversation_of(const json::value& chat) {
  return chat.at_pointer("/hearth/conversation_id").as_int64();
}
std::int64_t message_of(const json::value& chat) {
  return chat.at_pointer("/hearth/message_id").as_int64();
}
std::string id_header(std::int64_t id) {
  return "X-Hearth-Conversation-Id: " + std::to_string(id);
}

// One server per test on the backend under test, with users alice and bob and llama3-f16.
class ConversationThreads : public ::testing::TestWithParam<hearth::db::Backend> {
 protected:
  void SetUp() override {
    auto dir = hearth::test::conformance_dir();
    if (!dir) GTEST_SKIP() << "conformance data not found: set HEARTH_CONFORMANCE_DIR";
    if (GetParam() == hearth::db::Backend::postgresql && !hearth::db::test::postgres_url())
      GTEST_SKIP() << "HEARTH_TEST_POSTGRES_URL is not set (scripts/postgres.sh start prints one)";
    database = std::make_unique<hearth::db::test::ScratchDatabase>(GetParam());
    env = {{"HEARTH_HOME", home.path().string()}, {"HEARTH_DB", database->url()}};
    const std::string alice_token = hearth::test::token_for(env, "alice");
    const std::string bob_token = hearth::test::token_for(env, "bob");
    ASSERT_FALSE(alice_token.empty());
    ASSERT_FALSE(bob_token.empty());
    server = std::make_unique<ServerProcess>(home.path(), std::vector<std::string>{}, env);
    ASSERT_TRUE(server->wait_listening(std::chrono::seconds(20))) << server->output();
    alice = std::make_unique<ChatClient>(*server, alice_token);
    bob = std::make_unique<ChatClient>(*server, bob_token);
    files = std::make_unique<hearth::test::HttpFileServer>(*dir / "models");
    const json::value pull{{"model", files->url("llama3-f16.gguf")}, {"stream", false}};
    const HttpResult r = alice->call("POST", "/api/pull", &pull);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  void TearDown() override {
    alice.reset();
    bob.reset();
    server.reset();  // before its database goes
    database.reset();
  }
  std::size_t count(const ChatClient& who) {
    return who.get("/api/conversations").at("conversations").as_array().size();
  }

  hearth::test::TempDir home;
  std::unique_ptr<hearth::db::test::ScratchDatabase> database;
  hearth::test::Env env;
  std::unique_ptr<ServerProcess> server;
  std::unique_ptr<ChatClient> alice, bob;
  std::unique_ptr<hearth::test::HttpFileServer> files;
};

TEST_P(ConversationThreads, RefusedRequestsStoreNothing) {
  // Far longer than any context the model allows.
  std::string essay;
  for (int i = 0; i < 6000; ++i) essay += "word" + std::to_string(i) + " ";
  const json::value too_long{
      {"model", "llama3-f16"}, {"messages", json::array{user(essay)}}, {"max_tokens", 2}};
  HttpResult r = alice->call("POST", "/v1/chat/completions", &too_long);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("context"), std::string::npos) << r.body;
  // Ollama's API, streamed and not, with a small num_ctx.
  for (const bool stream : {false, true}) {
    const json::value small{
        {"model", "llama3-f16"},
        {"messages", json::array{user("Tell me everything about the history of the world")}},
        {"options", {{"num_ctx", 4}}},
        {"stream", stream}};
    r = alice->call("POST", "/api/chat", &small);
    EXPECT_EQ(r.status, 400) << r.body;
  }
  EXPECT_EQ(count(*alice), 0u);

  // Refused inside a kept conversation: that conversation is unchanged.
  const json::value first = alice->chat(json::array{user("Hi")});
  const std::int64_t id = conversation_of(first);
  const json::value before = alice->get("/api/conversations/" + std::to_string(id));
  const json::value longer{
      {"model", "llama3-f16"},
      {"messages", json::array{user("Hi"), assistant(answer_of(first)), user(essay)}},
      {"max_tokens", 2}};
  r = alice->call("POST", "/v1/chat/completions", &longer, {id_header(id)});
  EXPECT_EQ(r.status, 400) << r.body;
  const json::value after = alice->get("/api/conversations/" + std::to_string(id));
  EXPECT_EQ(after.at("messages"), before.at("messages"));
  EXPECT_EQ(after.at("alternatives").as_array().size(), 0u) << after;
  EXPECT_EQ(count(*alice), 1u);
  // An id that is not the caller's is refused before anything runs.
  r = bob->call("POST", "/v1/chat/completions", &longer, {id_header(id)});
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(count(*bob), 0u);
}

TEST_P(ConversationThreads, ChatsStaySeparateAndContinueByExchangeOrId) {
  // Two independent chats that both begin with "Hi" (the second answer shorter, so that the two
  // exchanges differ).
  const json::value a1 = alice->chat(json::array{user("Hi")});
  const json::value b1 = alice->chat(json::array{user("Hi")}, {}, {{"max_tokens", 2}});
  const std::int64_t a = conversation_of(a1), b = conversation_of(b1);
  EXPECT_NE(a, b);
  EXPECT_EQ(count(*alice), 2u);
  ASSERT_NE(answer_of(a1), answer_of(b1));

  // The full previous exchange continues the older chat, not the newest.
  const json::value a2 =
      alice->chat(json::array{user("Hi"), assistant(answer_of(a1)), user("How are you?")});
  EXPECT_EQ(conversation_of(a2), a);
  // Only the first message shared: a new chat.
  const json::value c1 =
      alice->chat(json::array{user("Hi"), assistant("something else"), user("How are you?")});
  EXPECT_NE(conversation_of(c1), a);
  EXPECT_NE(conversation_of(c1), b);
  EXPECT_EQ(count(*alice), 3u);

  // The id continues too: the header on OpenAI's API, "hearth.conversation_id" on Ollama's.
  const json::value b2 =
      alice->chat(json::array{user("Hi"), assistant(answer_of(b1)), user("And you?")},
                  {id_header(b)});
  EXPECT_EQ(conversation_of(b2), b);
  const json::value by_body{
      {"model", "llama3-f16"},
      {"messages", json::array{user("Hi"), assistant(answer_of(a1)), user("How are you?"),
                               assistant(answer_of(a2)), user("Bye")}},
      {"options", {{"temperature", 0}, {"num_predict", 3}}},
      {"stream", false},
      {"hearth", {{"conversation_id", a}}}};
  const HttpResult r = alice->call("POST", "/api/chat", &by_body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_from(r.body).at_pointer("/hearth/conversation_id").as_int64(), a) << r.body;
  EXPECT_EQ(count(*alice), 3u);

  const json::value conversation = alice->get("/api/conversations/" + std::to_string(a));
  const json::array& messages = conversation.at("messages").as_array();
  ASSERT_EQ(messages.size(), 6u) << conversation;
  EXPECT_TRUE(messages[0].at("parent_id").is_null()) << conversation;
  for (std::size_t i = 1; i < messages.size(); ++i)
    EXPECT_EQ(messages[i].at("parent_id"), messages[i - 1].at("id"));
  EXPECT_EQ(messages[1].at("continued"), json::value(true));
  EXPECT_EQ(messages[4].at("content").as_string(), "Bye");

  // Streamed, the chat is stored once output begins, with its whole answer at the end.
  const json::value streamed{
      {"model", "llama3-f16"},
      {"messages", json::array{user("Hi"), assistant(answer_of(b1)), user("And you?"),
                               assistant(answer_of(b2)), user("Streamed")}},
      {"max_tokens", 3},
      {"temperature", 0},
      {"stream", true},
      {"conversation_id", b}};
  const HttpResult s = alice->call("POST", "/v1/chat/completions", &streamed);
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_NE(s.body.find("\"conversation_id\":" + std::to_string(b)), std::string::npos) << s.body;
  const json::value stored = alice->get("/api/conversations/" + std::to_string(b));
  ASSERT_EQ(stored.at("messages").as_array().size(), 6u) << stored;
  EXPECT_EQ(stored.at_pointer("/messages/4/content").as_string(), "Streamed");
  EXPECT_EQ(stored.at_pointer("/messages/5/role").as_string(), "assistant");
  EXPECT_EQ(count(*alice), 3u);
}

TEST_P(ConversationThreads, RegeneratedAnswersAreKeptAndExportUsesTheCurrentBranch) {
  const json::value opt_in{{"training_opt_in", true}};
  ASSERT_EQ(alice->call("PUT", "/api/settings", &opt_in).status, 200);
  const json::array question{json::object{{"role", "system"}, {"content", "Be brief."}},
                             user("Name a colour")};
  const json::value first = alice->chat(question);
  const std::int64_t id = conversation_of(first);
  // The same request again without the id is a new chat ...
  const json::value other = alice->chat(question);
  EXPECT_NE(conversation_of(other), id);
  // ... with it, a regeneration: a different answer (sampled) beside the first.
  const json::value second =
      alice->chat(question, {id_header(id)}, {{"temperature", 1.5}, {"seed", 7}});
  EXPECT_EQ(conversation_of(second), id);
  EXPECT_NE(message_of(second), message_of(first));

  json::value c = alice->get("/api/conversations/" + std::to_string(id));
  ASSERT_EQ(c.at("messages").as_array().size(), 3u) << c;
  EXPECT_EQ(c.at_pointer("/messages/2/id").as_int64(), message_of(second));
  EXPECT_EQ(c.at("message_count").as_int64(), 3);
  ASSERT_EQ(c.at("alternatives").as_array().size(), 1u) << c;
  const json::value& old = c.at_pointer("/alternatives/0");
  EXPECT_EQ(old.at("id").as_int64(), message_of(first));
  EXPECT_EQ(old.at("parent_id"), c.at_pointer("/messages/1/id"));
  EXPECT_EQ(old.at("regenerated"), json::value(true));
  EXPECT_LT(old.at("quality_score").to_number<double>(), 0.5);
  EXPECT_EQ(old.at("content").as_string(), answer_of(first));

  // A later answer is regenerated by the request alone once it holds a complete exchange.
  json::array longer = question;
  longer.push_back(assistant(answer_of(second)));
  longer.push_back(user("Another one"));
  const json::value third = alice->chat(longer);
  EXPECT_EQ(conversation_of(third), id);
  const json::value fourth = alice->chat(longer, {}, {{"temperature", 1.5}, {"seed", 11}});
  EXPECT_EQ(conversation_of(fourth), id);
  c = alice->get("/api/conversations/" + std::to_string(id));
  ASSERT_EQ(c.at("messages").as_array().size(), 5u) << c;
  EXPECT_EQ(c.at_pointer("/messages/4/id").as_int64(), message_of(fourth));
  ASSERT_EQ(c.at("alternatives").as_array().size(), 2u) << c;
  EXPECT_EQ(c.at_pointer("/alternatives/1/id").as_int64(), message_of(third));
  EXPECT_EQ(c.at_pointer("/alternatives/1/regenerated"), json::value(true));

  // Rate every answer 5: the export still holds only the current branch.
  for (const std::int64_t message :
       {message_of(first), message_of(second), message_of(third), message_of(fourth)}) {
    const json::value five{{"rating", 5}};
    const HttpResult r = alice->call("POST",
                                     "/api/conversations/" + std::to_string(id) + "/messages/" +
                                         std::to_string(message) + "/feedback",
                                     &five);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const json::value request{{"allow_small", true}, {"validation", 0}};
  HttpResult r = alice->call("POST", "/api/training/export-data", &request);
  ASSERT_EQ(r.status, 201) << r.body;
  const json::value result = json_from(r.body);
  r = alice->call("GET", json::value_to<std::string>(result.at("train_url")));
  ASSERT_EQ(r.status, 200) << r.body;
  json::array expected;
  for (const auto& m : c.at("messages").as_array()) {
    json::object line{{"role", m.at("role")}, {"content", m.at("content")}};
    if (m.at("role") == json::value("assistant")) line["weight"] = 1;
    expected.push_back(std::move(line));
  }
  bool found = false;
  std::istringstream lines(r.body);
  for (std::string line; std::getline(lines, line);) {
    const json::value example = json_from(line);
    if (example.at_pointer("/messages/2/content") != c.at_pointer("/messages/2/content")) continue;
    if (example.at("messages").as_array().size() != expected.size()) continue;
    found = true;
    EXPECT_EQ(example.at("messages"), json::value(expected));
  }
  EXPECT_TRUE(found) << "conversation " << id << " is not exported as its current branch:\n"
                     << r.body;
}

TEST_P(ConversationThreads, DatasetsDownloadThroughTheApiWithoutServerPaths) {
  const json::value opt_in{{"training_opt_in", true}};
  ASSERT_EQ(alice->call("PUT", "/api/settings", &opt_in).status, 200);
  for (int i = 0; i < 4; ++i) {
    const json::value answer = alice->chat(json::array{user("question " + std::to_string(i))});
    const json::value five{{"rating", 5}};
    ASSERT_EQ(alice
                  ->call("POST",
                         "/api/conversations/" + std::to_string(conversation_of(answer)) +
                             "/messages/" + std::to_string(message_of(answer)) + "/feedback",
                         &five)
                  .status,
              200);
  }
  const json::value request{{"allow_small", true}, {"validation", 0.3}};
  HttpResult r = alice->call("POST", "/api/training/export-data", &request);
  ASSERT_EQ(r.status, 201) << r.body;
  // No file of the server is named: not HEARTH_HOME, not any absolute path.
  EXPECT_EQ(r.body.find(home.path().string()), std::string::npos) << r.body;
  const json::value result = json_from(r.body);
  for (const auto& member : result.as_object()) {
    if (member.value().is_string()) {
      EXPECT_NE(json::value_to<std::string>(member.value()).rfind(home.path().string(), 0), 0u)
          << member.key();
    }
  }
  const std::string id = std::to_string(result.at("dataset_version_id").to_number<std::int64_t>());
  EXPECT_EQ(result.at("train_url").as_string(), "/api/training/datasets/" + id + "/train.jsonl");
  EXPECT_EQ(result.at("validation_url").as_string(),
            "/api/training/datasets/" + id + "/validation.jsonl");

  // The files the export wrote (the test knows HEARTH_HOME; clients do not).
  std::map<std::string, std::string> written;  // "train" / "validation" -> contents
  // Sealed with Alice's key: opened through the database that holds it.
  const hearth::db::Database keys = hearth::db::Database::open(database->url());
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(home.path() / "datasets")) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with("-train.jsonl")) written["train"] = hearth::crypto::read_file(entry.path());
    if (name.ends_with("-validation.jsonl"))
      written["validation"] = hearth::crypto::read_file(entry.path());
  }
  ASSERT_EQ(written.size(), 2u);
  for (const std::string file : {"train", "validation"}) {
    const std::string url = json::value_to<std::string>(result.at(file + "_url"));
    r = alice->call("GET", url);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.content_type, "application/x-ndjson");
    EXPECT_EQ(r.body, written[file]) << file;
    EXPECT_EQ(std::count(r.body.begin(), r.body.end(), '\n'),
              result.at(file + "_examples").to_number<int>());
    // Another user's dataset is not found; nor is a file a dataset does not have.
    r = bob->call("GET", url);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.body.find(home.path().string()), std::string::npos) << r.body;
  }
  EXPECT_EQ(alice->call("GET", "/api/training/datasets/" + id + "/secrets.txt").status, 404);
  EXPECT_EQ(alice->call("GET", "/api/training/datasets/999/train.jsonl").status, 404);
  const json::value listed = alice->get("/api/training/datasets");
  ASSERT_EQ(listed.at("datasets").as_array().size(), 1u) << listed;
  EXPECT_EQ(listed.at_pointer("/datasets/0/train_url"), result.at("train_url"));
  EXPECT_EQ(hearth::format_json(listed).find(home.path().string()), std::string::npos) << listed;
  EXPECT_EQ(bob->get("/api/training/datasets").at("datasets").as_array().size(), 0u);

  // A failure to write names no file either: the user's dataset folder is now a plain file.
  for (const auto& entry : std::filesystem::directory_iterator(home.path() / "datasets")) {
    std::filesystem::rename(entry.path(), entry.path().string() + ".moved");
    std::ofstream(entry.path()) << "not a folder";
  }
  r = alice->call("POST", "/api/training/export-data", &request);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.body.find(home.path().string()), std::string::npos) << r.body;
}

INSTANTIATE_TEST_SUITE_P(Backends, ConversationThreads,
                         ::testing::Values(hearth::db::Backend::sqlite,
                                           hearth::db::Backend::postgresql),
                         hearth::db::test::backend_test_name);

}  // namespace
