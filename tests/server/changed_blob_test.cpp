// The server refuses to load a model whose blob changed since its install (store/blob_stamp.h):
// the real `hearth serve`, a model imported with the real `hearth pull`, and a chat request.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "server/server_process.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
using hearth::test::http;
using hearth::test::run_hearth;
namespace json = boost::json;

TEST(ChangedBlob, ChatIsRefusedUntilVerifyFindsTheBytesIntact) {
  hearth::test::TempDir temp;
  const std::vector<std::pair<std::string, std::string>> env{
      {"HEARTH_HOME", (temp.path() / "home").string()}, {"HEARTH_THREADS", "1"}};
  const fs::path file = temp.path() / "tiny.gguf";
  ASSERT_EQ(
      run_hearth({"synth", "--shape", "tiny", "--type", "Q8_0", "--seed", "1", "-o", file.string()})
          .exit_code,
      0);
  auto r = run_hearth({"pull", file.string()}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::path blob;
  for (const auto& e : fs::directory_iterator(temp.path() / "home" / "blobs"))
    if (e.path().filename().string().rfind("sha256-", 0) == 0) blob = e.path();
  ASSERT_FALSE(blob.empty());
  const auto size = fs::file_size(blob);
  std::ofstream(blob, std::ios::app | std::ios::binary) << "appended";

  hearth::test::ServerProcess server(temp.path() / "home", {}, {{"HEARTH_THREADS", "1"}});
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const std::string chat = hearth::format_json(json::value{
      {"model", "tiny"},
      {"messages", {{{"role", "user"}, {"content", "hi"}}}},
      {"stream", false},
      {"options",
       {{"num_predict", 2}}}});
  hearth::test::HttpResult answer = http("POST", server.url("/api/chat"), &chat);
  EXPECT_NE(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("model 'tiny:latest' changed on disk since it was installed"),
            std::string::npos)
      << answer.body;
  const std::string openai = hearth::format_json(json::value{
      {"model", "tiny"},
      {"messages", {{{"role", "user"}, {"content", "hi"}}}},
      {"max_tokens", 2}});
  answer = http("POST", server.url("/v1/chat/completions"), &openai);
  EXPECT_NE(answer.status, 200) << answer.body;
  EXPECT_NE(answer.body.find("changed on disk"), std::string::npos) << answer.body;

  // The original bytes back (a new mtime though): refused until `hearth pull --verify`.
  ASSERT_EQ(::truncate(blob.c_str(), static_cast<off_t>(size)), 0);
  answer = http("POST", server.url("/api/chat"), &chat);
  EXPECT_NE(answer.status, 200) << answer.body;
  r = run_hearth({"pull", "--verify", "tiny"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  answer = http("POST", server.url("/api/chat"), &chat);
  EXPECT_EQ(answer.status, 200) << answer.body;
}

}  // namespace
