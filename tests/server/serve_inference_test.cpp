// End to end with curl (libcurl): inference through the real `hearth serve` on a tiny conformance
// model — SSE and NDJSON streams, errors in each API's shape, a client that drops mid-stream,
// authentication. (The npm clients' tests in tests/e2e cover the same routes through the
// official libraries.)
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <sstream>
#include <thread>

#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::test::http;
using hearth::test::HttpOptions;
using hearth::test::HttpResult;
using hearth::test::ServerProcess;
using hearth::test::has_key;
using hearth::test::json_from;
namespace json = boost::json;

// A HEARTH_HOME with the tiny llama3-f16 conformance model installed as "tiny".
struct Home {
  hearth::test::TempDir dir;
  bool ok = false;
  std::string error;
  explicit Home(const std::filesystem::path& conformance) {
    const auto model = conformance / "models" / "llama3-f16.gguf";
    if (!std::filesystem::exists(model)) {
      error = "missing " + model.string();
      return;
    }
    const auto r = hearth::test::run_hearth({"pull", model.string(), "--name", "tiny"},
                                            {{"HEARTH_HOME", dir.path().string()}});
    ok = r.exit_code == 0;
    error = r.out + r.err;
  }
};

// The JSON payloads of an SSE body, and whether it ended with [DONE].
std::vector<json::value> sse_events(const std::string& body, bool* done) {
  std::vector<json::value> events;
  *done = false;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    const std::string data = line.substr(6);
    if (data == "[DONE]") {
      *done = true;
      continue;
    }
    events.push_back(json_from(data));
  }
  return events;
}

double metric(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return -1;
}

class ServeInference : public ::testing::Test {
 protected:
  void SetUp() override {
    HEARTH_REQUIRE_CONFORMANCE(dir);
    home_ = std::make_unique<Home>(dir);
    ASSERT_TRUE(home_->ok) << home_->error;
    server_ = std::make_unique<ServerProcess>(home_->dir.path());
    ASSERT_TRUE(server_->wait_listening(std::chrono::seconds(20))) << server_->output();
  }
  HttpResult post(const std::string& path, const json::value& body,
                  const HttpOptions& options = {}) {
    const std::string text = hearth::format_json(body);
    return http("POST", server_->url(path), &text, options);
  }
  std::unique_ptr<Home> home_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServeInference, OpenAiChatStreamsServerSentEvents) {
  const HttpResult r = post("/v1/chat/completions",
                            {{"model", "tiny"},
                             {"messages", {{{"role", "user"}, {"content", "Hello"}}}},
                             {"stream", true},
                             {"stream_options", {{"include_usage", true}}},
                             {"max_tokens", 8},
                             {"temperature", 0}});
  ASSERT_EQ(r.code, CURLE_OK);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "text/event-stream");
  bool done = false;
  const auto events = sse_events(r.body, &done);
  EXPECT_TRUE(done) << r.body;
  ASSERT_GE(events.size(), 3u) << r.body;
  EXPECT_EQ(events.front().at("object").as_string(), "chat.completion.chunk");
  EXPECT_EQ(events.front().at_pointer("/choices/0/delta/role").as_string(), "assistant");
  const json::value& usage = events.back().at("usage");
  EXPECT_EQ(events.back().at("choices").as_array().size(), 0u);
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), 8);
  EXPECT_GT(usage.at("prompt_tokens").to_number<int>(), 0);
  EXPECT_EQ(events[events.size() - 2].at_pointer("/choices/0/finish_reason").as_string(), "length");
  // The chat was kept: the last chunk names the conversation and the answer.
  const json::value& kept = events[events.size() - 2].at("hearth");
  EXPECT_GT(kept.at("conversation_id").to_number<long long>(), 0) << events[events.size() - 2];
  EXPECT_GT(kept.at("message_id").to_number<long long>(), 0) << events[events.size() - 2];

  // The same request without streaming gives the same text (greedy).
  std::string streamed;
  for (const auto& e : events)
    if (!e.at("choices").as_array().empty() && has_key(e.at_pointer("/choices/0/delta"), "content"))
      streamed += json::value_to<std::string>(e.at_pointer("/choices/0/delta/content"));
  const HttpResult whole = post("/v1/chat/completions",
                                {{"model", "tiny"},
                                 {"messages", {{{"role", "user"}, {"content", "Hello"}}}},
                                 {"max_tokens", 8},
                                 {"temperature", 0}});
  ASSERT_EQ(whole.status, 200) << whole.body;
  const json::value body = json_from(whole.body);
  EXPECT_EQ(body.at("object").as_string(), "chat.completion");
  EXPECT_EQ(body.at_pointer("/choices/0/message/content").as_string(), streamed);
  EXPECT_EQ(body.at_pointer("/usage/total_tokens").as_int64(),
            body.at_pointer("/usage/prompt_tokens").to_number<int>() +
                body.at_pointer("/usage/completion_tokens").to_number<int>());
}

// The curl command line, as a user would type it (the libcurl calls above use the same library).
std::string run_curl(const std::string& args) {
  const std::string command = "curl -sS -N --noproxy '*' " + args + " 2>&1";
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

TEST_F(ServeInference, TheCurlCommandLineStreamsAndLists) {
  const std::string chat = run_curl(
      server_->url("/v1/chat/completions") +
      " -H 'Content-Type: application/json' -d '{\"model\":\"tiny\",\"stream\":true,"
      "\"max_tokens\":4,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}'");
  bool done = false;
  const auto events = sse_events(chat, &done);
  EXPECT_TRUE(done) << chat;
  EXPECT_GE(events.size(), 2u) << chat;
  const std::string tags = run_curl(server_->url("/api/tags"));
  EXPECT_EQ(json_from(tags).at_pointer("/models/0/name").as_string(), "tiny:latest") << tags;
  const std::string head = run_curl("-I " + server_->url("/"));
  EXPECT_NE(head.find("200"), std::string::npos) << head;
}

TEST_F(ServeInference, OllamaGenerateStreamsNdjsonWithTimings) {
  const HttpResult r = post("/api/generate", {{"model", "tiny"},
                                              {"prompt", "Once upon a time"},
                                              {"options", {{"num_predict", 6}, {"temperature", 0}}}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-ndjson");
  const auto lines = hearth::test::json_lines(r.body);
  ASSERT_GE(lines.size(), 2u);
  const json::value& last = lines.back();
  EXPECT_EQ(last.at("done"), json::value(true));
  EXPECT_EQ(last.at("done_reason").as_string(), "length");
  EXPECT_EQ(last.at("eval_count").as_int64(), 6);
  EXPECT_GT(last.at("prompt_eval_count").to_number<int>(), 0);
  EXPECT_GT(last.at("total_duration").to_number<long long>(), 0);
  EXPECT_GE(last.at("total_duration").to_number<long long>(),
            last.at("eval_duration").to_number<long long>());
  for (size_t i = 0; i + 1 < lines.size(); ++i) EXPECT_EQ(lines[i].at("done"), json::value(false));

  // The model's usage is kept for its owner (written in the background, so give it a moment).
  json::value usage;
  for (int i = 0; i < 50; ++i) {
    const json::array models =
        json_from(http("GET", server_->url("/api/personal-models")).body).at("models").as_array();
    ASSERT_EQ(models.size(), 1u);
    usage = models[0].at("usage");
    if (usage.at("requests") == json::value(1)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(usage.at("requests").as_int64(), 1) << usage;
  EXPECT_EQ(usage.at("completion_tokens").as_int64(), 6) << usage;
  EXPECT_GT(usage.at("average_tokens_per_second").to_number<double>(), 0) << usage;

  // The model stays loaded: /api/ps lists it, and `hearth ps` reads the same answer back.
  const json::value ps = json_from(http("GET", server_->url("/api/ps")).body);
  ASSERT_EQ(ps.at("models").as_array().size(), 1u) << ps;
  EXPECT_EQ(ps.at_pointer("/models/0/name").as_string(), "tiny:latest") << ps;
  EXPECT_GT(ps.at_pointer("/models/0/size").to_number<double>(), 0) << ps;
  EXPECT_EQ(ps.at_pointer("/models/0/details/format").as_string(), "gguf") << ps;
  const std::string where = server_->url("").substr(std::string("http://").size());
  const auto listed = hearth::test::run_hearth(
      {"ps"}, {{"HEARTH_HOME", home_->dir.path().string()}, {"HEARTH_HOST", where}});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_NE(listed.out.find("tiny:latest"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("100% CPU"), std::string::npos) << listed.out;
  EXPECT_NE(listed.out.find("minutes from now"), std::string::npos) << listed.out;
}

TEST_F(ServeInference, ErrorsComeInEachApisShape) {
  HttpResult r = post("/v1/chat/completions",
                      {{"model", "nope"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(json_from(r.body).at_pointer("/error/message").is_string()) << r.body;
  r = post("/api/chat", {{"model", "nope"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}});
  EXPECT_EQ(r.status, 404);
  EXPECT_TRUE(json_from(r.body).at("error").is_string()) << r.body;
  r = post("/v1/chat/completions", {{"model", "tiny"}, {"messages", "hello"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("messages"), std::string::npos) << r.body;
  r = post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"options", {{"temperature", "hot"}}}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("temperature"), std::string::npos) << r.body;
  const std::string broken = "{\"model\":";
  r = http("POST", server_->url("/api/chat"), &broken);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("invalid JSON"), std::string::npos) << r.body;
  // A prompt longer than the context: 400 naming the context size.
  std::string long_prompt;
  for (int i = 0; i < 300; ++i) long_prompt += "hello world ";
  r = post("/api/generate", {{"model", "tiny"}, {"prompt", long_prompt}, {"options", {{"num_ctx", 64}}}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("context"), std::string::npos) << r.body;
  // The server survived all of it.
  r = post("/api/generate", {{"model", "tiny"}, {"prompt", "Hi"}, {"stream", false},
                             {"options", {{"num_predict", 2}}}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_from(r.body).at("eval_count").as_int64(), 2);
}

TEST_F(ServeInference, ADroppedClientFreesItsSequence) {
  // An endless generation; the client hangs up after the first piece.
  HttpOptions drop;
  int pieces = 0;
  drop.on_data = [&](const std::string&) { return ++pieces < 2; };
  const HttpResult r = post("/api/generate",
                            {{"model", "tiny"}, {"prompt", "Tell a long story"},
                             {"options", {{"num_predict", -1}, {"num_ctx", 4096}}}},
                            drop);
  EXPECT_EQ(r.code, CURLE_WRITE_ERROR);
  // The sequence is gone within moments (it would otherwise run for thousands of tokens).
  double active = -1;
  for (int i = 0; i < 50 && active != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    active = metric(http("GET", server_->url("/metrics")).body, "hearth_active_sequences");
  }
  EXPECT_EQ(active, 0);
  const HttpResult next = post("/api/generate", {{"model", "tiny"}, {"prompt", "Hi"}, {"stream", false},
                                                 {"options", {{"num_predict", 3}}}});
  EXPECT_EQ(next.status, 200) << next.body;
}

TEST(ServeAuth, TokensAreRequiredOnceAUserExists) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  Home home(dir);
  ASSERT_TRUE(home.ok) << home.error;
  const std::vector<std::pair<std::string, std::string>> env{{"HEARTH_HOME", home.dir.path().string()}};
  ASSERT_EQ(hearth::test::run_hearth({"user", "add", "alice"}, env).exit_code, 0);
  const auto created = hearth::test::run_hearth({"token", "create", "--user", "alice"}, env);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const auto at = created.out.find("hearth_");
  ASSERT_NE(at, std::string::npos) << created.out;
  const std::string token = created.out.substr(at, created.out.find_first_of(" \n", at) - at);

  ServerProcess server(home.dir.path());
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  HttpResult r = http("GET", server.url("/api/tags"));
  EXPECT_EQ(r.status, 401) << r.body;
  r = http("GET", server.url("/v1/models"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json_from(r.body).at_pointer("/error/type").as_string(), "authentication_error")
      << r.body;
  HttpOptions bad;
  bad.headers = {"Authorization: Bearer hearth_wrong"};
  EXPECT_EQ(http("GET", server.url("/api/tags"), nullptr, bad).status, 401);
  HttpOptions good;
  good.headers = {"Authorization: Bearer " + token};
  r = http("GET", server.url("/api/tags"), nullptr, good);
  EXPECT_EQ(r.status, 200) << r.body;
  // alice has pulled nothing: the local user's "tiny" is not hers.
  EXPECT_EQ(json_from(r.body).at("models").as_array().size(), 0u) << r.body;
  const std::string chat = R"({"model":"tiny","messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(http("POST", server.url("/api/chat"), &chat, good).status, 404);
  // Public routes stay open.
  EXPECT_EQ(http("GET", server.url("/api/version")).status, 200);

  // `hearth ps` asks the server too: it needs HEARTH_API_KEY now.
  const std::string where = server.url("").substr(std::string("http://").size());
  auto ps = hearth::test::run_hearth({"ps"}, {{"HEARTH_HOME", home.dir.path().string()}, {"HEARTH_HOST", where}});
  EXPECT_NE(ps.exit_code, 0);
  EXPECT_NE(ps.err.find("HEARTH_API_KEY"), std::string::npos) << ps.err;
  ps = hearth::test::run_hearth({"ps"}, {{"HEARTH_HOME", home.dir.path().string()},
                                         {"HEARTH_HOST", where},
                                         {"HEARTH_API_KEY", token}});
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_NE(ps.out.find("NAME"), std::string::npos) << ps.out;
}

}  // namespace
