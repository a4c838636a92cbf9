// ResponseStream (a response filled by another thread) and the request-body helpers.
#include <gtest/gtest.h>

#include <thread>

#include "server/inference.h"
#include "server/json_util.h"
#include "server/response_stream.h"

namespace hearth::server {
namespace {

TEST(ResponseStream, HeadThenPiecesThenEnd) {
  ResponseStream s;
  int wakes = 0;
  s.set_waker([&] { ++wakes; });
  EXPECT_FALSE(s.take().has_head);  // nothing yet
  s.start(200, "text/event-stream", {{"X-A", "1"}});
  s.write("one ");
  s.write("two");
  ResponseStream::Taken t = s.take();
  EXPECT_TRUE(t.has_head);
  EXPECT_EQ(t.status, 200);
  EXPECT_EQ(t.content_type, "text/event-stream");
  ASSERT_EQ(t.headers.size(), 1u);
  EXPECT_EQ(t.data, "one two");
  EXPECT_FALSE(t.finished);
  s.write("three");
  s.finish();
  t = s.take();
  EXPECT_FALSE(t.has_head);  // the head comes once
  EXPECT_EQ(t.data, "three");
  EXPECT_TRUE(t.finished);
  EXPECT_EQ(wakes, 5);
  s.write("late");  // after the end: dropped
  EXPECT_EQ(s.take().data, "");
}

TEST(ResponseStream, RespondIsWholeAndFirstStartWins) {
  ResponseStream s;
  s.respond(Response{404, "application/json", R"({"error":"x"})", {}, {}});
  s.start(200, "text/plain");  // ignored
  const auto t = s.take();
  EXPECT_EQ(t.status, 404);
  EXPECT_EQ(t.data, R"({"error":"x"})");
  EXPECT_TRUE(t.finished);
}

TEST(ResponseStream, FinishWithoutStartIsAnInternalError) {
  ResponseStream s;
  s.finish();
  const auto t = s.take();
  EXPECT_TRUE(t.has_head);
  EXPECT_EQ(t.status, 500);
  EXPECT_TRUE(t.finished);
}

TEST(ResponseStream, CancelReachesTheProducersFlag) {
  ResponseStream s;
  auto flag = s.cancel_flag();
  EXPECT_FALSE(flag->load());
  std::thread consumer([&] { s.cancel(); });
  consumer.join();
  EXPECT_TRUE(flag->load());
  EXPECT_TRUE(s.cancelled());
  s.start(200, "text/plain");
  s.write("dropped");
  EXPECT_EQ(s.take().data, "");
}

TEST(ResponseStream, AConsumerFarBehindCancelsTheProducer) {
  ResponseStream s;
  s.start(200, "text/event-stream");
  const std::string piece(64 << 10, 'x');
  // A consumer that keeps up: any amount passes.
  for (std::size_t sent = 0; sent < 2 * ResponseStream::max_backlog; sent += piece.size()) {
    s.write(piece);
    EXPECT_EQ(s.take().data.size(), piece.size());
  }
  EXPECT_FALSE(s.cancelled());
  // One that takes nothing: cancelled once max_backlog bytes wait, and the backlog is let go.
  std::size_t written = 0;
  while (!s.cancelled() && written <= 2 * ResponseStream::max_backlog) {
    s.write(piece);
    written += piece.size();
  }
  EXPECT_TRUE(s.cancelled());
  EXPECT_GT(written, ResponseStream::max_backlog);
  EXPECT_LE(written, ResponseStream::max_backlog + piece.size());
  EXPECT_TRUE(s.take().data.empty());
}

TEST(ResponseStream, ProducerThreadAndConsumerAgree) {
  ResponseStream s;
  std::atomic<int> wakes{0};
  s.set_waker([&] { wakes.fetch_add(1); });
  std::thread producer([&] {
    s.start(200, "application/x-ndjson");
    for (int i = 0; i < 1000; ++i) s.write(std::to_string(i) + "\n");
    s.finish();
  });
  std::string all;
  bool finished = false;
  while (!finished) {
    auto t = s.take();
    all += t.data;
    finished = t.finished;
  }
  producer.join();
  std::string expected;
  for (int i = 0; i < 1000; ++i) expected += std::to_string(i) + "\n";
  EXPECT_EQ(all, expected);
  EXPECT_EQ(wakes.load(), 1002);
}

TEST(JsonFields, TypesAreCheckedAndNamed) {
  const json::object o = parse_body_object(
      R"({"model":"m","n":3,"x":1.5,"b":true,"s":["a","b"],"one":"z","nul":null,"o":{}})");
  EXPECT_EQ(req_string(o, "model"), "m");
  EXPECT_EQ(*opt_int(o, "n"), 3);
  EXPECT_DOUBLE_EQ(*opt_number(o, "x"), 1.5);
  EXPECT_TRUE(*opt_bool(o, "b"));
  EXPECT_EQ(opt_string_list(o, "s")->size(), 2u);
  EXPECT_EQ(opt_string_list(o, "one")->at(0), "z");
  EXPECT_FALSE(opt_string(o, "nul"));
  EXPECT_FALSE(opt_int(o, "absent"));
  EXPECT_NE(opt_object(o, "o"), nullptr);
  auto message_of = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message_of([&] { opt_int(o, "x"); }).find("field 'x' must be an integer"), std::string::npos);
  EXPECT_NE(message_of([&] { opt_string(o, "n"); }).find("field 'n' must be a string"), std::string::npos);
  EXPECT_NE(message_of([&] { opt_bool(o, "model"); }).find("'model'"), std::string::npos);
  EXPECT_NE(message_of([&] { req_string(o, "absent"); }).find("'absent' is required"), std::string::npos);
  EXPECT_NE(message_of([&] { parse_body_object("{\"a\":"); }).find("invalid JSON"), std::string::npos);
  EXPECT_NE(message_of([&] { parse_body_object("[1]"); }).find("JSON object"), std::string::npos);
  EXPECT_NE(message_of([&] { parse_body_object("{\"a\":\"\xff\"}"); }), "no error");  // invalid UTF-8
  EXPECT_TRUE(parse_body_object("").empty());
}

// Options as a request's "options" (or a model's stored ones) are read (api/options.h).
void apply_ollama_options(const json::object& options, GenerationRequest& r) {
  apply_options(api::read_options(options, api::UnknownOptions::ignore), r);
}

TEST(OllamaOptions, MapOntoTheRequestAndRefuseBadValues) {
  GenerationRequest r;
  apply_ollama_options(parse_body_object(R"({"temperature":0,"top_k":5,"top_p":0.5,"seed":7,
      "stop":["END"],"num_ctx":2048,"num_predict":12,"repeat_penalty":1.2,"min_p":0.1})"), r);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_k, 5);
  EXPECT_EQ(r.sampling.top_p, 0.5f);
  EXPECT_EQ(r.sampling.seed, 7u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  EXPECT_EQ(r.num_ctx, 2048);
  EXPECT_EQ(r.max_tokens, 12);
  apply_ollama_options(parse_body_object(R"({"num_predict":-1})"), r);
  EXPECT_EQ(r.max_tokens, -1);
  for (const char* bad : {R"({"temperature":"hot"})", R"({"top_p":2})", R"({"num_ctx":0})",
                          R"({"top_k":-1})", R"({"stop":[1]})", R"({"num_predict":-3})"})
    EXPECT_THROW(apply_ollama_options(parse_body_object(bad), r), Error) << bad;
}

}  // namespace
}  // namespace hearth::server
