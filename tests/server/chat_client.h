// For the conversation tests: users with API tokens, and a client that calls the real server as
// one of them (chats, conversation reads, feedback, exports).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::test {

class ChatClient {
 public:
  ChatClient(const ServerProcess& server, std::string token)
      : server_(server), token_(std::move(token)) {}

  // `extra` are more request headers ("X-Hearth-Conversation-Id: 7").
  HttpResult call(const std::string& method, const std::string& path,
                  const json::value* body = nullptr,
                  const std::vector<std::string>& extra = {}) const {
    HttpOptions options;
    options.headers = {"Authorization: Bearer " + token_};
    options.headers.insert(options.headers.end(), extra.begin(), extra.end());
    if (body == nullptr) return http(method, server_.url(path), nullptr, options);
    const std::string text = format_json(*body);
    return http(method, server_.url(path), &text, options);
  }
  // A non-streamed OpenAI chat with llama3-f16 (greedy unless `more` says otherwise); the parsed
  // answer. `more` is merged into the body.
  json::value chat(const json::value& messages, const std::vector<std::string>& extra = {},
                   const json::object& more = {}) const {
    json::object body{
        {"model", "llama3-f16"}, {"messages", messages}, {"max_tokens", 4}, {"temperature", 0}};
    for (const auto& member : more) body[member.key()] = member.value();
    const json::value request = std::move(body);
    const HttpResult r = call("POST", "/v1/chat/completions", &request, extra);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json_from(r.body) : json::object();
  }
  json::value get(const std::string& path) const {
    const HttpResult r = call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.status == 200 ? json_from(r.body) : json::object();
  }

 private:
  const ServerProcess& server_;
  std::string token_;
};

}  // namespace hearth::test
