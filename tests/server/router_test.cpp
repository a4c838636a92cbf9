// The router and handlers, called directly (no sockets).
#include <gtest/gtest.h>

#include "server/json_util.h"
#include "server/server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::server {
namespace {

namespace json = boost::json;
using test::json_from;

Request request(std::string method, std::string target, std::string body = "") {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}
Request get(std::string target) { return request("GET", std::move(target)); }

// A router with a public root and a protected /api/tags, like the API's.
Router small_router() {
  Router router;
  router.add(
      "GET", "/",
      [](const Request&) {
        Response r;
        r.content_type = "text/plain; charset=utf-8";
        r.body = "hearth is running";
        return r;
      },
      true);
  router.add("GET", "/api/tags", [](const Request& r) {
    return Response{200, "application/json", "{\"user\":" + std::to_string(r.caller.user_id) + "}", {}, {}};
  });
  return router;
}

TEST(ServerRouter, RootAndHead) {
  const Router router = small_router();
  Response r = router.handle(get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hearth is running");
  r = router.handle(request("HEAD", "/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hearth is running");  // the socket layer sends only the length
}

TEST(ServerRouter, UnknownRouteIs404InEachApiShape) {
  const Router router = small_router();
  Response r = router.handle(get("/api/nothing"));
  EXPECT_EQ(r.status, 404);
  json::value body = json_from(r.body);
  ASSERT_TRUE(body.at("error").is_string());
  EXPECT_NE(body.at("error").as_string().find("/api/nothing"), std::string::npos);

  r = router.handle(get("/v1/nothing"));
  EXPECT_EQ(r.status, 404);
  body = json_from(r.body);
  ASSERT_TRUE(body.at("error").is_object());
  EXPECT_TRUE(body.at_pointer("/error/message").is_string());
  EXPECT_EQ(body.at_pointer("/error/type").as_string(), "invalid_request_error");
  EXPECT_EQ(body.at_pointer("/error/code").as_string(), "not_found");
}

TEST(ServerRouter, WrongMethodIs405WithAllow) {
  const Response r = small_router().handle(request("DELETE", "/api/tags"));
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "GET");
}

TEST(ServerRouter, PatternRoutesCaptureSegments) {
  Router router;
  router.add("GET", "/api/personal-models/{id}/status", [](const Request& r) {
    return Response{200, "text/plain", "status of " + std::string(r.param("id")), {}, {}};
  });
  router.add("DELETE", "/api/personal-models/{id}", [](const Request& r) {
    return Response{200, "text/plain", "deleted " + std::string(r.param("id")), {}, {}};
  });
  EXPECT_EQ(router.handle(get("/api/personal-models/17/status")).body, "status of 17");
  EXPECT_EQ(router.handle(request("DELETE", "/api/personal-models/abc")).body, "deleted abc");
  EXPECT_EQ(router.handle(get("/api/personal-models//status")).status, 404);
  EXPECT_EQ(router.handle(get("/api/personal-models/1/status/x")).status, 404);
  const Response r = router.handle(get("/api/personal-models/5"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.at(0).second, "DELETE");
}

TEST(ServerRouter, AuthenticateGuardsProtectedRoutesOnly) {
  Router router = small_router();
  router.set_authenticate([](const Request& r) -> Caller {
    if (r.header("authorization") != "Bearer good") throw Error(ErrorKind::unauthorized, "no key");
    return Caller{42, "alice"};
  });
  EXPECT_EQ(router.handle(get("/")).status, 200);  // public
  Response r = router.handle(get("/api/tags"));
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(json_from(r.body).at("error").as_string(), "no key");
  bool challenged = false;
  for (const auto& [k, v] : r.headers) challenged |= k == "WWW-Authenticate";
  EXPECT_TRUE(challenged);
  Request ok = get("/api/tags");
  ok.headers.emplace_back("authorization", "Bearer good");
  r = router.handle(ok);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_from(r.body).at("user").as_int64(), 42);
}

TEST(ServerRouter, ObserverSeesEveryAnswer) {
  Router router = small_router();
  std::vector<int> seen;
  router.set_observer([&](const Request&, const Response& r) { seen.push_back(r.status); });
  router.handle(get("/"));
  router.handle(get("/missing"));
  EXPECT_EQ(seen, (std::vector<int>{200, 404}));
}

TEST(ServerRouter, HandlerErrorsBecomeJsonErrors) {
  Router router;
  router.add("POST", "/api/echo", [](const Request& req) {
    parse_body_object(req.body);
    return Response{200, "application/json", req.body, {}, {}};
  });
  router.add("POST", "/v1/echo", [](const Request& req) {
    parse_body_object(req.body);
    return Response{200, "application/json", req.body, {}, {}};
  });
  router.add("GET", "/api/boom", [](const Request&) -> Response { throw std::runtime_error("bug"); });
  router.add("GET", "/api/busy", [](const Request&) -> Response {
    throw Error(ErrorKind::unavailable, "queue full");
  });

  EXPECT_EQ(router.handle(request("POST", "/api/echo", R"({"a":1})")).status, 200);

  Response r = router.handle(request("POST", "/api/echo", R"({"a":)"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json_from(r.body).at("error").as_string().find("invalid JSON"), std::string::npos);

  r = router.handle(request("POST", "/api/echo", "[1,2]"));
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json_from(r.body).at("error").as_string().find("JSON object"), std::string::npos);

  r = router.handle(request("POST", "/v1/echo", "not json"));
  EXPECT_EQ(r.status, 400);
  const json::value e = json_from(r.body).at("error");
  EXPECT_NE(e.at("message").as_string().find("invalid JSON"), std::string::npos);
  EXPECT_EQ(e.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(e.at("code").as_string(), "invalid_input");

  r = router.handle(get("/api/boom"));
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(json_from(r.body).at("error").is_string());

  r = router.handle(get("/api/busy"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json_from(r.body).at("error").as_string(), "queue full");
  ASSERT_FALSE(r.headers.empty());
  EXPECT_EQ(r.headers[0].first, "Retry-After");
}

TEST(ServerHostPort, Parses) {
  EXPECT_EQ(parse_host_port("127.0.0.1:8080"), (std::pair<std::string, uint16_t>{"127.0.0.1", 8080}));
  EXPECT_EQ(parse_host_port("http://0.0.0.0:1/"), (std::pair<std::string, uint16_t>{"0.0.0.0", 1}));
  EXPECT_EQ(parse_host_port("localhost"), (std::pair<std::string, uint16_t>{"localhost", 11435}));
  EXPECT_EQ(parse_host_port("[::1]:99"), (std::pair<std::string, uint16_t>{"::1", 99}));
  EXPECT_EQ(parse_host_port(":7000"), (std::pair<std::string, uint16_t>{"127.0.0.1", 7000}));
  EXPECT_THROW(parse_host_port("127.0.0.1:99999"), Error);
  EXPECT_THROW(parse_host_port("127.0.0.1:http"), Error);
}

}  // namespace
}  // namespace hearth::server
