// Upload routes of the router, called directly (no sockets): the caller is authenticated before
// the route opens its sink, refusals at every step come back in OpenAI's error shape, the limit
// is the route's own, and a whole body given to handle() arrives as one piece.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server/server.h"
#include "support/json_test_util.h"

namespace hearth::server {
namespace {

using test::json_from;

// What the route's sinks saw.
struct Seen {
  int opened = 0;
  std::vector<std::string> pieces;
  std::int64_t user = 0;
};

// Collects the pieces; refuses a piece that says "refuse" and a body that ends in "bad".
class CollectingSink final : public BodySink {
 public:
  explicit CollectingSink(Seen& seen) : seen_(seen) {}
  void write(std::string_view piece) override {
    if (piece == "refuse") throw Error(ErrorKind::invalid_input, "refused piece");
    seen_.pieces.emplace_back(piece);
    body_ += piece;
  }
  Response finish() override {
    if (body_.size() >= 3 && body_.substr(body_.size() - 3) == "bad")
      throw Error(ErrorKind::invalid_input, "bad body");
    return Response{200, "text/plain", body_, {}, {}};
  }

 private:
  Seen& seen_;
  std::string body_;
};

// Token "good" is user 7; anything else is refused.
Router upload_router(Seen& seen, std::uint64_t limit = 10) {
  Router router;
  router.add_upload(
      "POST", "/v1/up/{name}",
      [&seen](const Request& r) -> std::unique_ptr<BodySink> {
        ++seen.opened;
        seen.user = r.caller.user_id;
        EXPECT_EQ(r.param("name"), "x");
        EXPECT_TRUE(r.body.empty());
        return std::make_unique<CollectingSink>(seen);
      },
      limit, "too large for this test");
  router.add("GET", "/v1/up/{name}", [](const Request&) { return Response{}; });
  router.set_authenticate([](const Request& r) {
    if (r.header("authorization") != "Bearer good") throw Error(ErrorKind::unauthorized, "no");
    return Caller{7, "seven"};
  });
  return router;
}

Request post(std::string body = "", std::string token = "good", std::string target = "/v1/up/x") {
  Request r;
  r.method = "POST";
  r.target = std::move(target);
  r.body = std::move(body);
  if (!token.empty()) r.headers.emplace_back("authorization", "Bearer " + token);
  return r;
}

TEST(RouterUpload, OnlyTheUploadRouteTakesItsBodyInPieces) {
  Seen seen;
  const Router router = upload_router(seen);
  EXPECT_TRUE(router.takes_upload("POST", "/v1/up/x"));
  EXPECT_FALSE(router.takes_upload("GET", "/v1/up/x"));
  EXPECT_FALSE(router.takes_upload("POST", "/v1/up"));
  EXPECT_FALSE(router.takes_upload("POST", "/v1/other"));
}

TEST(RouterUpload, AuthenticatesBeforeOpeningTheSink) {
  Seen seen;
  const Router router = upload_router(seen);
  for (const std::string token : {"", "wrong"}) {
    UploadStart start = router.open_upload(post("", token));
    EXPECT_FALSE(start.sink);
    EXPECT_EQ(start.refusal.status, 401);
    EXPECT_EQ(json_from(start.refusal.body).at("error").at("type").as_string(), "authentication_error");
  }
  EXPECT_EQ(seen.opened, 0);

  UploadStart start = router.open_upload(post());
  ASSERT_TRUE(start.sink);
  EXPECT_EQ(seen.user, 7);
  EXPECT_EQ(start.limit, 10u);
  EXPECT_EQ(start.too_large, "too large for this test");
  EXPECT_FALSE(router.write_upload(post(), *start.sink, "ab").has_value());
  EXPECT_FALSE(router.write_upload(post(), *start.sink, "cd").has_value());
  const Response done = router.finish_upload(post(), *start.sink);
  EXPECT_EQ(done.status, 200);
  EXPECT_EQ(done.body, "abcd");
  EXPECT_EQ(seen.pieces, (std::vector<std::string>{"ab", "cd"}));
}

TEST(RouterUpload, RefusalsAtEachStepAreErrorAnswers) {
  Seen seen;
  const Router router = upload_router(seen);
  UploadStart start = router.open_upload(post());
  ASSERT_TRUE(start.sink);
  const auto refused = router.write_upload(post(), *start.sink, "refuse");
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(json_from(refused->body).at("error").at("message").as_string(), "refused piece");

  start = router.open_upload(post());
  ASSERT_TRUE(start.sink);
  EXPECT_FALSE(router.write_upload(post(), *start.sink, "bad").has_value());
  const Response done = router.finish_upload(post(), *start.sink);
  EXPECT_EQ(done.status, 400);
  EXPECT_EQ(json_from(done.body).at("error").at("message").as_string(), "bad body");

  // A path that is no route, or a method the path does not take.
  start = router.open_upload(post("", "good", "/v1/nowhere"));
  EXPECT_FALSE(start.sink);
  EXPECT_EQ(start.refusal.status, 404);
}

TEST(RouterUpload, HandleGivesTheWholeBodyAsOnePieceWithinTheRoutesLimit) {
  Seen seen;
  const Router router = upload_router(seen, 5);
  Response r = router.handle(post("hello"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(seen.pieces, std::vector<std::string>{"hello"});

  r = router.handle(post("hello!"));
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json_from(r.body).at("error").at("message").as_string(), "too large for this test");
  EXPECT_EQ(router.handle(post("x", "")).status, 401);
  EXPECT_EQ(seen.opened, 1);

  Request put = post();
  put.method = "PUT";
  r = router.handle(put);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.at(0).second, "POST, GET");
}

}  // namespace
}  // namespace hearth::server
