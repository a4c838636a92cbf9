// Load on the real `hearth serve` with a tiny conformance model, loopback only: hundreds of idle
// connections beside streaming chats, clients that send their headers or body byte by byte, one
// that never reads its streamed answer, and request bodies at and one byte past the limits. Every wait
// has a bound, so a stall fails the test instead of hanging it; no timing decides a result.
//
// HEARTH_LOAD_IDLE and HEARTH_LOAD_CHATS change the counts (500 and 50) for a heavier run.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <thread>

#include "server/raw_socket.h"
#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using namespace std::chrono_literals;
using test::http;
using test::HttpOptions;
using test::HttpResult;
using test::RawSocket;
using test::ServerProcess;
namespace json = boost::json;

int env_count(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

// One HEARTH_HOME with the llama3-f16 conformance model installed as "tiny", for every test.
class Load : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const auto dir = test::conformance_dir();
    if (!dir) return;
    home_ = new test::TempDir();
    const auto r = test::run_hearth({"pull", (*dir / "models" / "llama3-f16.gguf").string(), "--name", "tiny"},
                                    {{"HEARTH_HOME", home_->path().string()}});
    pulled_ = r.exit_code == 0;
    pull_output_ = r.out + r.err;
  }
  static void TearDownTestSuite() {
    delete home_;
    home_ = nullptr;
  }
  void SetUp() override {
    HEARTH_REQUIRE_CONFORMANCE(dir);
    ASSERT_TRUE(pulled_) << pull_output_;
  }
  void start(test::Env env = {}) {
    server_ = std::make_unique<ServerProcess>(home_->path(), std::vector<std::string>{}, env);
    ASSERT_TRUE(server_->wait_listening(20s)) << server_->output();
  }
  // A streamed OpenAI chat of `tokens` tokens; its status and whether the stream ended properly.
  HttpResult chat(int tokens, long timeout_ms = 30'000) const {
    const std::string body = format_json(json::value{
        {"model", "tiny"},
        {"messages", {{{"role", "user"}, {"content", "Hello"}}}},
        {"stream", true},
        {"max_tokens", tokens},
        {"temperature", 0}});
    HttpOptions options;
    options.timeout_ms = timeout_ms;
    return http("POST", server_->url("/v1/chat/completions"), &body, options);
  }
  static bool ended(const HttpResult& r) {
    return r.code == CURLE_OK && r.status == 200 && r.body.find("data: [DONE]") != std::string::npos;
  }
  HttpResult version(long timeout_ms = 5'000) const {
    HttpOptions options;
    options.timeout_ms = timeout_ms;
    return http("GET", server_->url("/api/version"), nullptr, options);
  }

  static test::TempDir* home_;
  static bool pulled_;
  static std::string pull_output_;
  std::unique_ptr<ServerProcess> server_;
};
test::TempDir* Load::home_ = nullptr;
bool Load::pulled_ = false;
std::string Load::pull_output_;

TEST_F(Load, IdleConnectionsDoNotStarveStreamingChats) {
  const int idle_count = env_count("HEARTH_LOAD_IDLE", 500);
  const int chat_count = env_count("HEARTH_LOAD_CHATS", 50);
  // The server starts with a soft open-file limit of 256, as tight as many systems' default of
  // 1024 is for a few hundred clients: it must raise the limit itself or the idle connections
  // take every descriptor and the chats wait in the listen backlog until they time out.
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  if (saved.rlim_max != RLIM_INFINITY &&
      saved.rlim_max < static_cast<rlim_t>(idle_count + 2 * chat_count + 200))
    GTEST_SKIP() << "the hard open-file limit (" << saved.rlim_max << ") is too low for "
                 << idle_count << " connections";
  rlimit tight = saved;
  tight.rlim_cur = 256;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  start();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &saved), 0);
  if (HasFatalFailure()) return;

  // Idle in three ways: connected and silent, half a request line, and a finished keep-alive
  // exchange that then stays open.
  std::vector<RawSocket> idle;
  idle.reserve(static_cast<size_t>(idle_count));
  for (int i = 0; i < idle_count; ++i) {
    idle.emplace_back(server_->port());
    ASSERT_TRUE(idle.back().valid()) << "connection " << i;
    bool sent = true;
    if (i % 3 == 1) sent = idle.back().send_all("GET /api/version HT");
    if (i % 3 == 2) sent = idle.back().send_all("GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_TRUE(sent) << "connection " << i;
  }

  std::vector<HttpResult> results(static_cast<size_t>(chat_count));
  std::vector<std::thread> clients;
  for (int i = 0; i < chat_count; ++i)
    clients.emplace_back([&, i] { results[static_cast<size_t>(i)] = chat(8); });
  for (auto& c : clients) c.join();
  int completed = 0;
  for (const auto& r : results) {
    if (ended(r)) {
      ++completed;
    } else {
      ADD_FAILURE() << "curl " << r.code << " status " << r.status << ": " << r.body.substr(0, 300);
    }
  }
  EXPECT_EQ(completed, chat_count);
  // The keep-alive ones got their answer and are still served on the same connection.
  RawSocket& kept = idle[2];
  std::string first = kept.read_until("}", 10s);  // the version's JSON body
  EXPECT_NE(first.find("HTTP/1.1 200"), std::string::npos) << first;
  EXPECT_TRUE(kept.send_all("GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  std::string second;
  EXPECT_TRUE(kept.closed_by_peer(10s, &second));
  EXPECT_NE(second.find("HTTP/1.1 200"), std::string::npos) << second;
  idle.clear();
  EXPECT_EQ(version().status, 200);
}

TEST_F(Load, SlowHeadersAndBodiesAreCutAtTheReadTimeoutWhileOthersAreAnswered) {
  start({{"HEARTH_READ_TIMEOUT", "2"}});
  if (HasFatalFailure()) return;
  RawSocket slow(server_->port());
  ASSERT_TRUE(slow.valid());
  std::atomic<bool> cut{false};
  std::atomic<int> sent{0};
  // One header byte every 100 ms, for at most 20 s: far longer than the 2 s the server allows.
  std::thread loris([&] {
    const std::string request = "GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    const std::string filler = "X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    std::string all = request;
    while (all.size() < 200) all += filler;
    for (size_t i = 0; i < all.size(); ++i) {
      if (!slow.send_all(all.substr(i, 1))) {
        cut = true;
        return;
      }
      ++sent;
      if (slow.closed_by_peer(100ms)) {
        cut = true;
        return;
      }
    }
  });
  // And one whose headers are whole but whose body comes a byte at a time.
  RawSocket slow_body(server_->port());
  ASSERT_TRUE(slow_body.valid());
  std::atomic<bool> body_cut{false};
  std::atomic<int> body_sent{0};
  std::thread trickle([&] {
    if (!slow_body.send_all("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Content-Type: application/json\r\nContent-Length: 200\r\n\r\n"))
      return;
    for (int i = 0; i < 200; ++i) {
      if (!slow_body.send_all(" ") || slow_body.closed_by_peer(100ms)) {
        body_cut = true;
        return;
      }
      ++body_sent;
    }
  });
  // Meanwhile other clients are answered as usual.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(version().status, 200);
    EXPECT_TRUE(ended(chat(4, 10'000)));
  }
  loris.join();
  trickle.join();
  EXPECT_TRUE(cut) << "the server kept a connection that sent " << sent << " header bytes";
  EXPECT_LT(sent.load(), 200);
  EXPECT_TRUE(body_cut) << "the server kept a connection that sent " << body_sent << " body bytes";
  EXPECT_LT(body_sent.load(), 200);
  EXPECT_EQ(version().status, 200);
}

TEST_F(Load, AClientThatNeverReadsDoesNotStallOthers) {
  start();
  if (HasFatalFailure()) return;
  // A tiny receive buffer that this client never empties: the server's writes to it block.
  RawSocket stuck(server_->port(), 1024);
  ASSERT_TRUE(stuck.valid());
  const std::string body = format_json(json::value{
      {"model", "tiny"},
      {"messages", {{{"role", "user"}, {"content", "Tell me everything"}}}},
      {"stream", true},
      {"max_tokens", 100000},
      {"temperature", 1}});
  ASSERT_TRUE(stuck.send_all("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "Content-Type: application/json\r\nContent-Length: " +
                             std::to_string(body.size()) + "\r\n\r\n" + body));
  std::this_thread::sleep_for(300ms);  // let its stream start and fill the buffers
  for (int i = 0; i < 3; ++i) {
    std::vector<HttpResult> results(4);
    std::vector<std::thread> clients;
    for (auto& r : results) clients.emplace_back([&] { r = chat(8, 15'000); });
    for (auto& c : clients) c.join();
    for (const auto& r : results) EXPECT_TRUE(ended(r)) << r.code << " " << r.status << " " << r.body;
    EXPECT_EQ(version().status, 200);
  }
  stuck.close();
  EXPECT_TRUE(ended(chat(4, 10'000)));
}

// A JSON request of exactly `size` bytes: `json` followed by spaces (valid JSON whitespace).
std::string padded(const std::string& json_text, size_t size) {
  std::string out = json_text;
  out.resize(size, ' ');
  return out;
}

TEST_F(Load, JsonBodiesAtTheLimitAreTakenAndOneBytePastIsRefusedWith413) {
  start();
  if (HasFatalFailure()) return;
  constexpr size_t limit = 8u << 20;  // ServeOptions::body_limit
  const std::string openai = format_json(json::value{
      {"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 2}});
  const std::string ollama = format_json(json::value{{"model", "tiny"},
                                                     {"messages", {{{"role", "user"}, {"content", "Hi"}}}},
                                                     {"stream", false},
                                                     {"options", {{"num_predict", 2}}}});
  for (const auto& [path, text] : {std::pair{"/v1/chat/completions", openai}, {"/api/chat", ollama}}) {
    const std::string at = padded(text, limit);
    const HttpResult ok = http("POST", server_->url(path), &at);
    EXPECT_EQ(ok.status, 200) << path << ": " << ok.body.substr(0, 300);
    const std::string past = padded(text, limit + 1);
    const HttpResult big = http("POST", server_->url(path), &past);
    EXPECT_EQ(big.code, CURLE_OK) << path;
    EXPECT_EQ(big.status, 413) << path << ": " << big.body.substr(0, 300);
    EXPECT_NE(big.body.find("larger than the limit of 8388608 bytes"), std::string::npos)
        << path << ": " << big.body;
  }
  EXPECT_EQ(version().status, 200);
}

// A multipart upload for /v1/files whose whole body is exactly `size` bytes (valid chat JSONL,
// the last line padded inside its content).
std::string upload_body(size_t size, const std::string& boundary) {
  const std::string head = "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--" +
                           boundary +
                           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.jsonl\"\r\n"
                           "Content-Type: application/jsonl\r\n\r\n";
  const std::string tail = "\r\n--" + boundary + "--\r\n";
  const std::string open = R"({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ")";
  const std::string close = "\"}]}\n";
  const size_t fixed = head.size() + tail.size() + open.size() + close.size();
  if (size < fixed) return {};
  return head + open + std::string(size - fixed, 'a') + close + tail;
}

// POST over a plain socket with Connection: close; the status and body of the answer (status 0
// when none came within the bound).
HttpResult post_raw(const ServerProcess& server, const std::string& path, const std::string& body,
                    const std::string& content_type) {
  HttpResult result;
  RawSocket socket(server.port());
  if (!socket.valid()) return result;
  socket.send_all("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                  "Content-Type: " + content_type + "\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\n\r\n");
  socket.send_all(body);  // the server may refuse on the headers and stop reading: that is fine
  const std::string answer = socket.read_all(20s);
  if (answer.rfind("HTTP/1.1 ", 0) == 0) result.status = std::atol(answer.c_str() + 9);
  const auto split = answer.find("\r\n\r\n");
  if (split != std::string::npos) result.body = answer.substr(split + 4);
  return result;
}

TEST_F(Load, UploadsAtTheirLimitAreTakenAndOneBytePastIsRefusedWith413) {
  start({{"HEARTH_MAX_UPLOAD", "1"}});
  if (HasFatalFailure()) return;
  const std::string boundary = "LoadBoundary7";
  const std::string type = "multipart/form-data; boundary=" + boundary;
  const HttpResult ok = post_raw(*server_, "/v1/files", upload_body(1u << 20, boundary), type);
  EXPECT_EQ(ok.status, 200) << ok.body.substr(0, 300);
  const HttpResult big = post_raw(*server_, "/v1/files", upload_body((1u << 20) + 1, boundary), type);
  EXPECT_EQ(big.status, 413) << big.body.substr(0, 300);
  EXPECT_NE(big.body.find("larger than the limit of 1 MiB"), std::string::npos) << big.body;
  // Only the upload at the limit was kept.
  const HttpResult list = http("GET", server_->url("/v1/files"));
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(test::json_from(list.body).at("data").as_array().size(), 1u) << list.body;
}

}  // namespace
}  // namespace hearth
