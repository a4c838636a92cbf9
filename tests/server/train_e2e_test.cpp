// End to end, the personal loop's first half: conversations kept by the real `hearth serve`,
// answers corrected through the feedback API, exported by `hearth data export`, and a LoRA
// adapter trained on that file by `hearth train` lowers the loss on the held-out part.
#include <gtest/gtest.h>

#include <sstream>

#include "server/chat_client.h"
#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using hearth::test::json_from;
using hearth::test::token_for;

// The path printed after `label` by `hearth data export`.
std::string printed_path(const std::string& out, const std::string& label) {
  const std::size_t at = out.find(label);
  if (at == std::string::npos) return {};
  const std::size_t start = out.find('/', at);
  return out.substr(start, out.find('\n', start) - start);
}

// Every eval_loss of a training log, in order.
std::vector<double> eval_losses(const fs::path& log) {
  std::vector<double> out;
  std::istringstream in(hearth::test::read_file(log));
  for (std::string line; std::getline(in, line);) {
    const auto v = json_from(line).as_object();
    if (v.contains("eval_loss")) out.push_back(v.at("eval_loss").to_number<double>());
  }
  return out;
}

TEST(TrainEndToEnd, AnAdapterTrainedOnExportedConversationsLowersTheValidationLoss) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  hearth::test::TempDir home;
  const std::vector<std::pair<std::string, std::string>> env{{"HEARTH_HOME", home.path().string()}};
  const std::string token = token_for(env, "alice");
  ASSERT_FALSE(token.empty());
  hearth::test::ServerProcess server(home.path());
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  const hearth::test::ChatClient alice(server, token);
  hearth::test::HttpFileServer files(dir / "models");
  const json::value pull{{"model", files.url("llama3-f16.gguf")}, {"stream", false}};
  auto r = alice.call("POST", "/api/pull", &pull);
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value opt_in{{"training_opt_in", true}};
  ASSERT_EQ(alice.call("PUT", "/api/settings", &opt_in).status, 200);

  // 120 chats; each answer is corrected to what the user wanted (one consistent style).
  constexpr int kChats = 120;
  for (int i = 0; i < kChats; ++i) {
    const std::string question = "what colour is thing " + std::to_string(i) + "?";
    const json::value answer =
        alice.chat(json::array{json::object{{"role", "user"}, {"content", question}}});
    ASSERT_TRUE(hearth::test::has_key(answer, "hearth")) << answer;
    const json::value feedback{
        {"corrected_answer", "Thing " + std::to_string(i) + " is blue, as every thing is."}};
    r = alice.call("POST",
                   "/api/conversations/" +
                       std::to_string(answer.at_pointer("/hearth/conversation_id").as_int64()) +
                       "/messages/" +
                       std::to_string(answer.at_pointer("/hearth/message_id").as_int64()) +
                       "/feedback",
                   &feedback);
    ASSERT_EQ(r.status, 200) << r.body;
  }

  const auto exported = hearth::test::run_hearth(
      {"data", "export", "--user", "alice", "--validation", "0.2"}, env);
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string train = printed_path(exported.out, "train:");
  const std::string validation = printed_path(exported.out, "validation:");
  ASSERT_FALSE(train.empty()) << exported.out;
  ASSERT_FALSE(validation.empty()) << exported.out;

  const std::string model = (dir / "models" / "llama3-f16.gguf").string();
  auto run = [&](const std::vector<std::string>& more) {
    std::vector<std::string> args = {"train", model, "--data", train, "--eval-data", validation,
                                     "--patience", "0", "--rank", "8", "--batch", "4"};
    args.insert(args.end(), more.begin(), more.end());
    return hearth::test::run_hearth(args, env);
  };
  // The base's validation loss: one step at learning rate 0 leaves B at zero.
  const fs::path base_log = home.path() / "base.log", log = home.path() / "train.log";
  auto t = run({"--steps", "1", "--lr", "0", "--eval-every", "1", "--log", base_log.string(),
                "--out", (home.path() / "base.gguf").string()});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto base = eval_losses(base_log);
  ASSERT_EQ(base.size(), 1u);

  t = run({"--steps", "40", "--lr", "0.01", "--schedule", "constant", "--warmup", "0",
           "--eval-every", "10", "--log", log.string(), "--out",
           (home.path() / "tuned.gguf").string()});
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto tuned = eval_losses(log);
  ASSERT_EQ(tuned.size(), 4u);
  std::fprintf(stderr, "validation loss: base %.4f, trained %.4f\n", base[0], *std::min_element(tuned.begin(), tuned.end()));
  EXPECT_LT(*std::min_element(tuned.begin(), tuned.end()), 0.7 * base[0])
      << "base " << base[0] << ", last " << tuned.back();
  // The adapter runs: hearth generate with it answers.
  const auto g = hearth::test::run_hearth(
      {"generate", model, "--prompt", "what colour is thing 7?", "-n", "4", "--greedy", "--lora",
       (home.path() / "tuned.gguf").string()});
  EXPECT_EQ(g.exit_code, 0) << g.err;
}

}  // namespace
