// End to end through the real `hearth serve`: numbers in answers and messages are written as
// people write them, readiness says when training is off, and malformed tools are refused
// naming what is wrong.
#include <gtest/gtest.h>

#include <string>

#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

using hearth::test::http;
using hearth::test::HttpResult;
using hearth::test::json_from;
namespace json = boost::json;

class PlainAnswers : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<hearth::test::ServerProcess>(home_.path());
    ASSERT_TRUE(server_->wait_listening(std::chrono::seconds(20))) << server_->output();
  }
  HttpResult call(const std::string& method, const std::string& path, const std::string& body = "") {
    return http(method, server_->url(path), body.empty() ? nullptr : &body);
  }
  hearth::test::TempDir home_;
  std::unique_ptr<hearth::test::ServerProcess> server_;
};

TEST_F(PlainAnswers, ReadinessSaysWhenTrainingIsOffWithPlainNumbers) {
  HttpResult r = call("GET", "/api/training/readiness");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("min_score":0.7)"), std::string::npos) << r.body;  // not 7E-1
  json::value j = json_from(r.body);
  EXPECT_EQ(j.at("opted_in"), json::value(false)) << r.body;
  EXPECT_NE(j.at("message").as_string().find("training_opt_in"), std::string::npos) << r.body;

  ASSERT_EQ(call("PUT", "/api/settings", R"({"training_opt_in":true})").status, 200);
  r = call("GET", "/api/training/readiness?min_score=1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("min_score":1,)"), std::string::npos) << r.body;  // not 1E0
  j = json_from(r.body);
  EXPECT_EQ(j.at("opted_in"), json::value(true)) << r.body;
  EXPECT_FALSE(hearth::test::has_key(j, "message")) << r.body;
}

TEST_F(PlainAnswers, RangeErrorsNamePlainNumbers) {
  const HttpResult r = call("POST", "/v1/chat/completions",
                            R"({"model":"m","temperature":5,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("must be between 0 and 2"), std::string::npos) << r.body;
}

TEST_F(PlainAnswers, MalformedToolsAreRefusedNamingTheField) {
  const std::string bad_tools =
      R"("tools":[{"type":"function","function":{"name":"get weather","parameters":{"type":"object"}}}])";
  HttpResult r = call("POST", "/v1/chat/completions",
                      R"({"model":"m","messages":[{"role":"user","content":"hi"}],)" + bad_tools + "}");
  EXPECT_EQ(r.status, 400) << r.body;
  const std::string message =
      json::value_to<std::string>(json_from(r.body).at_pointer("/error/message"));
  EXPECT_NE(message.find("tool name 'get weather'"), std::string::npos) << r.body;
  r = call("POST", "/api/chat",
           R"({"model":"m","messages":[{"role":"user","content":"hi"}],)" + bad_tools + "}");
  EXPECT_EQ(r.status, 400) << r.body;
  // Well-formed tools go on (to "no such model" here).
  const std::string tools =
      R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}])";
  r = call("POST", "/api/chat", R"({"model":"m","messages":[{"role":"user","content":"hi"}],)" + tools + "}");
  EXPECT_EQ(r.status, 404) << r.body;
}

}  // namespace
