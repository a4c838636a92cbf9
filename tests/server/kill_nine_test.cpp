// kill -9 of `hearth serve` while its write paths are busy — chats being captured as
// conversations, dataset exports, a model download — then a new server on the same HEARTH_HOME:
// everything a client was told had succeeded is there and whole, and nothing half-written sits
// under a final name (blobs match their digests, dataset files are whole JSONL). A deploy that
// answered 201 is still the served version after a kill -9 right after it. Training checkpoints
// under kill -9 are covered by TrainingRestart and TrainResume.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "server/rated_conversations.h"
#include "crypto/sealed_file.h"
#include "core/sha256.h"
#include "db/conversations.h"
#include "db/db.h"
#include "server/chat_client.h"
#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using test::ChatClient;
using test::Env;
using test::HttpResult;
using test::json_from;

struct Chat {
  std::int64_t conversation = 0;
  std::string question, answer;
};
struct Export {
  std::string content_hash, train_url, validation_url;
};

TEST(KillNine, WhatWasAcknowledgedSurvivesAndNothingIsHalfWritten) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir home;
  const Env env{{"HEARTH_HOME", home.path().string()}, {"HEARTH_LOG", "warn"}};
  const std::string token = test::token_for(env, "alice");
  ASSERT_FALSE(token.empty());
  auto server = std::make_unique<test::ServerProcess>(home.path());
  ASSERT_TRUE(server->wait_listening(20s)) << server->output();
  test::HttpFileServer files(dir / "models");
  {
    const ChatClient alice(*server, token);
    const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
    ASSERT_EQ(alice.call("POST", "/api/pull", &pull).status, 200);
    const json::value opt_in{{"training_opt_in", true}};
    ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);
  }
  {  // rated conversations for the exports to write
    db::Database database = db::Database::open("sqlite://" + (home.path() / "hearth.db").string());
    const std::int64_t user = db::Users(database).find_by_name("alice")->id;
    db::Conversations conversations(database);
    for (int i = 0; i < 60; ++i) {
      auto c = conversations.create({.user_id = user, .model = "llama3-f16:latest", .source = "openai"});
      conversations.add_message(user, c.id, {.role = "user", .content = "seeded question " + std::to_string(i)});
      auto a = conversations.add_message(user, c.id, {.role = "assistant", .content = "seeded answer " + std::to_string(i)});
      db::FeedbackStore(database).upsert(user, a.id, {.rating = 5});
    }
  }

  std::mutex mutex;
  std::vector<Chat> chats;
  std::vector<Export> exports;
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w)
    workers.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        const std::string question = "kill nine question " + std::to_string(w) + "-" + std::to_string(i);
        const json::value body{{"model", "llama3-f16"},
                               {"messages", {{{"role", "user"}, {"content", question}}}},
                               {"max_tokens", 4},
                               {"temperature", 0}};
        const HttpResult r = ChatClient(*server, token).call("POST", "/v1/chat/completions", &body);
        if (r.status != 200) continue;  // the server is gone: nothing was promised
        const json::value v = json_from(r.body);
        std::lock_guard lock(mutex);
        chats.push_back({v.at_pointer("/hearth/conversation_id").to_number<std::int64_t>(), question,
                         json::value_to<std::string>(v.at_pointer("/choices/0/message/content"))});
      }
    });
  workers.emplace_back([&] {
    const json::value body{{"allow_small", true}, {"min_score", 0}, {"validation", 0.2}};
    while (!stop) {
      const HttpResult r = ChatClient(*server, token).call("POST", "/api/training/export-data", &body);
      if (r.status != 201) continue;
      const json::value v = json_from(r.body);
      std::lock_guard lock(mutex);
      exports.push_back({json::value_to<std::string>(v.at("content_hash")),
                         json::value_to<std::string>(v.at("train_url")),
                         v.at("validation_url").is_null() ? std::string()
                                                          : json::value_to<std::string>(v.at("validation_url"))});
    }
  });
  // A slow download in flight when the server dies.
  files.set_faults({.bytes_per_second = 1 << 20});
  workers.emplace_back([&] {
    const json::value pull{{"model", files.url("quant-base-f16.gguf")}, {"stream", false}};
    ChatClient(*server, token).call("POST", "/api/pull", &pull);
  });

  // Let every path write a few times, then kill.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    std::this_thread::sleep_for(50ms);
    std::lock_guard lock(mutex);
    if ((chats.size() >= 6 && exports.size() >= 2) || std::chrono::steady_clock::now() > deadline) break;
  }
  server->stop(SIGKILL, 10s);
  stop = true;
  for (auto& w : workers) w.join();
  ASSERT_GE(chats.size(), 6u);
  ASSERT_GE(exports.size(), 2u);

  server = std::make_unique<test::ServerProcess>(home.path());
  ASSERT_TRUE(server->wait_listening(20s)) << server->output();
  const ChatClient alice(*server, token);
  for (const Chat& c : chats) {
    const json::value conversation = alice.get("/api/conversations/" + std::to_string(c.conversation));
    std::string all;
    for (const auto& m : conversation.at("messages").as_array())
      all += json::value_to<std::string>(m.at("content")) + "\n";
    EXPECT_NE(all.find(c.question), std::string::npos) << c.conversation << ": " << all;
    EXPECT_NE(all.find(c.answer), std::string::npos) << c.conversation << ": " << all;
  }
  for (const Export& e : exports) {
    const HttpResult train = alice.call("GET", e.train_url);
    ASSERT_EQ(train.status, 200) << e.train_url << ": " << train.body;
    std::string validation;
    if (!e.validation_url.empty()) {
      const HttpResult v = alice.call("GET", e.validation_url);
      ASSERT_EQ(v.status, 200) << e.validation_url;
      validation = v.body;
    }
    EXPECT_EQ(sha256_hex(train.body + validation), e.content_hash) << e.train_url;
  }
  // Nothing half-written under a final name: every blob matches its digest, every dataset file
  // is whole lines of JSON.
  int blobs = 0;
  for (const auto& f : fs::directory_iterator(home.path() / "blobs")) {
    const std::string name = f.path().filename().string();
    if (name.size() != 7 + 64 || name.rfind("sha256-", 0) != 0) continue;
    ++blobs;
    EXPECT_EQ(sha256_file_hex(f.path()), name.substr(7)) << name;
  }
  EXPECT_GE(blobs, 1);
  for (const auto& f : fs::recursive_directory_iterator(home.path() / "datasets")) {
    const std::string name = f.path().filename().string();
    if (!f.is_regular_file() || name.front() == '.') continue;  // temporaries are hidden
    const std::string text = crypto::read_file(f.path());  // whole: it opens, to its end
    ASSERT_FALSE(text.empty()) << name;
    EXPECT_EQ(text.back(), '\n') << name;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      EXPECT_NO_THROW(json_from(line)) << name << ": " << line.substr(0, 200);
  }
  // The model pulled before the kill still answers; a pull cut short is not listed half-done.
  const json::value tags = alice.get("/api/tags");
  bool tiny = false;
  for (const auto& m : tags.at("models").as_array()) {
    const std::string name = json::value_to<std::string>(m.at("name"));
    tiny |= name.rfind("llama3-f16", 0) == 0;
  }
  EXPECT_TRUE(tiny) << tags;
  const json::value after = alice.chat({{{"role", "user"}, {"content", "after the restart"}}});
  EXPECT_TRUE(after.as_object().contains("hearth")) << after;
}

// Polls `get` until `done` holds (or 120 s pass); the last answer.
json::value wait_for(const std::function<json::value()>& get, const std::function<bool(const json::value&)>& done) {
  const auto until = std::chrono::steady_clock::now() + 120s;
  json::value v;
  do {
    v = get();
    if (done(v)) return v;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < until);
  return v;
}

TEST(KillNine, ADeployThatAnswered201IsServedAfterTheRestart) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir home;
  const Env env{{"HEARTH_HOME", home.path().string()}, {"HEARTH_LOG", "warn"}};
  const std::string token = test::token_for(env, "alice");
  ASSERT_FALSE(token.empty());
  const Env server_env{{"HEARTH_TRAIN_THREADS", "1"}};
  auto server = std::make_unique<test::ServerProcess>(home.path(), std::vector<std::string>{}, server_env);
  ASSERT_TRUE(server->wait_listening(20s)) << server->output();
  test::HttpFileServer files(dir / "models");
  {
    const ChatClient alice(*server, token);
    const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
    ASSERT_EQ(alice.call("POST", "/api/pull", &pull).status, 200);
    const json::value opt_in{{"training_opt_in", true}};
    ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);
  }
  test::add_rated_conversations(home.path(), "alice", 110);
  const json::value start{{"model", "llama3-f16"},
                          {"hyperparameters", {{"n_epochs", 1}, {"batch_size", 8}, {"rank", 4}}}};
  HttpResult r = ChatClient(*server, token).call("POST", "/api/training/start-job", &start);
  ASSERT_EQ(r.status, 201) << r.body;
  const std::int64_t id = json_from(r.body).at("id").as_int64();
  const std::string job_path = "/api/training/jobs/" + std::to_string(id);
  const json::value done = wait_for([&] { return ChatClient(*server, token).get(job_path); },
                                    [](const json::value& j) {
                                      const auto s = j.at("status").as_string();
                                      return s == "completed" || s == "failed" || s == "cancelled";
                                    });
  ASSERT_EQ(done.at("status").as_string(), "completed") << done;

  const json::value deploy{{"job_id", id}, {"force", true}};
  r = ChatClient(*server, token).call("POST", "/api/training/deploy", &deploy);
  ASSERT_EQ(r.status, 201) << r.body;
  server->stop(SIGKILL, 10s);  // at once: nothing after the answer may be needed
  const json::value deployed = json_from(r.body);
  const std::string model = json::value_to<std::string>(deployed.at("model"));
  const std::int64_t row = deployed.at("personal_model_id").as_int64();

  server = std::make_unique<test::ServerProcess>(home.path(), std::vector<std::string>{}, server_env);
  ASSERT_TRUE(server->wait_listening(20s)) << server->output();
  const ChatClient alice(*server, token);
  const json::value versions = alice.get("/api/personal-models/" + std::to_string(row) + "/versions");
  EXPECT_EQ(versions.at("served_version").as_int64(), deployed.at("version").as_int64()) << versions;
  const json::value answer = alice.chat({{{"role", "user"}, {"content", "tell me about 7"}}}, {},
                                        json::object{{"model", model + "@v" + std::to_string(deployed.at("version").as_int64())}});
  EXPECT_TRUE(answer.as_object().contains("choices")) << answer;
}

}  // namespace
}  // namespace hearth
