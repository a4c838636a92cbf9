// The router and handlers, called directly (no sockets).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "core/sha256.h"
#include "server/server.h"
#include "store/store.h"
#include "support/test_support.h"

namespace hearth::server {
namespace {

using nlohmann::json;

Request get(std::string target) { return Request{"GET", std::move(target), "", ""}; }

// Installs a (non-GGUF) blob under `ref` so the store lists it.
void install(store::Store& st, const std::string& name, const std::string& tag, const std::string& bytes) {
  const std::string hex = sha256_hex(bytes);
  const auto path = st.blob_path(hex);
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  store::Manifest m;
  m.name = name;
  m.tag = tag;
  m.blobs.push_back({"sha256:" + hex, bytes.size(), "model"});
  m.created_at = "2025-06-01T12:00:00Z";
  st.write(m);
}

TEST(ServerRouter, RootAndHead) {
  test::TempDir home;
  store::Store st(home.path());
  const Router router = make_api_router(st);
  Response r = router.handle(get("/"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hearth is running");
  r = router.handle(Request{"HEAD", "/", "", ""});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hearth is running");  // the socket layer sends only the length
}

TEST(ServerRouter, Version) {
  test::TempDir home;
  store::Store st(home.path());
  const Response r = make_api_router(st).handle(get("/api/version?x=1"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(json::parse(r.body)["version"], HEARTH_VERSION);
}

TEST(ServerRouter, EmptyStoreLists) {
  test::TempDir home;
  store::Store st(home.path());
  const Router router = make_api_router(st);
  EXPECT_EQ(json::parse(router.handle(get("/api/tags")).body), json::parse(R"({"models":[]})"));
  EXPECT_EQ(json::parse(router.handle(get("/v1/models")).body),
            json::parse(R"({"object":"list","data":[]})"));
}

TEST(ServerRouter, TagsAndModelsShowInstalledModels) {
  test::TempDir home;
  store::Store st(home.path());
  install(st, "fast-assistant", "q4_k_m", "weights one");
  install(st, "me/other", "latest", "weights two, longer");
  const Router router = make_api_router(st);

  const json tags = json::parse(router.handle(get("/api/tags")).body);
  ASSERT_EQ(tags["models"].size(), 2u);
  const json& m = tags["models"][0];
  EXPECT_EQ(m["name"], "fast-assistant:q4_k_m");
  EXPECT_EQ(m["model"], "fast-assistant:q4_k_m");
  EXPECT_EQ(m["modified_at"], "2025-06-01T12:00:00Z");
  EXPECT_EQ(m["size"], 11);
  EXPECT_EQ(m["digest"], sha256_hex("weights one"));
  EXPECT_EQ(m["details"]["format"], "gguf");
  EXPECT_TRUE(m["details"].contains("family"));
  EXPECT_EQ(tags["models"][1]["name"], "me/other:latest");

  const json models = json::parse(router.handle(get("/v1/models")).body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 2u);
  EXPECT_EQ(models["data"][0]["id"], "fast-assistant:q4_k_m");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_EQ(models["data"][0]["created"], 1748779200);
  EXPECT_EQ(models["data"][0]["owned_by"], "hearth");
}

TEST(ServerRouter, UnknownRouteIs404InEachApiShape) {
  test::TempDir home;
  store::Store st(home.path());
  const Router router = make_api_router(st);
  Response r = router.handle(get("/api/nothing"));
  EXPECT_EQ(r.status, 404);
  json body = json::parse(r.body);
  ASSERT_TRUE(body["error"].is_string());
  EXPECT_NE(body["error"].get<std::string>().find("/api/nothing"), std::string::npos);

  r = router.handle(get("/v1/nothing"));
  EXPECT_EQ(r.status, 404);
  body = json::parse(r.body);
  ASSERT_TRUE(body["error"].is_object());
  EXPECT_TRUE(body["error"]["message"].is_string());
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["code"], "not_found");
}

TEST(ServerRouter, WrongMethodIs405WithAllow) {
  test::TempDir home;
  store::Store st(home.path());
  const Response r = make_api_router(st).handle(Request{"DELETE", "/api/tags", "", ""});
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "GET");
}

TEST(ServerRouter, HandlerErrorsBecomeJsonErrors) {
  Router router;
  router.add("POST", "/api/echo", [](const Request& req) {
    check_json_object(req.body);
    return Response{200, "application/json", req.body, {}};
  });
  router.add("POST", "/v1/echo", [](const Request& req) {
    check_json_object(req.body);
    return Response{200, "application/json", req.body, {}};
  });
  router.add("GET", "/api/boom", [](const Request&) -> Response { throw std::runtime_error("bug"); });
  router.add("GET", "/api/busy", [](const Request&) -> Response {
    throw Error(ErrorKind::unavailable, "queue full");
  });

  EXPECT_EQ(router.handle(Request{"POST", "/api/echo", R"({"a":1})", ""}).status, 200);

  Response r = router.handle(Request{"POST", "/api/echo", R"({"a":)", ""});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("invalid JSON"), std::string::npos);

  r = router.handle(Request{"POST", "/api/echo", "[1,2]", ""});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("JSON object"), std::string::npos);

  r = router.handle(Request{"POST", "/v1/echo", "not json", ""});
  EXPECT_EQ(r.status, 400);
  const json e = json::parse(r.body)["error"];
  EXPECT_NE(e["message"].get<std::string>().find("invalid JSON"), std::string::npos);
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_EQ(e["code"], "invalid_input");

  r = router.handle(get("/api/boom"));
  EXPECT_EQ(r.status, 500);
  EXPECT_TRUE(json::parse(r.body)["error"].is_string());

  r = router.handle(get("/api/busy"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json::parse(r.body)["error"], "queue full");
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
