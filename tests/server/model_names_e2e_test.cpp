// End to end, on SQLite and PostgreSQL: model names belong to their user. A second user of the
// real `hearth serve` copies, pulls and deletes under a name the machine's owner uses, and the
// owner's `hearth generate NAME` still runs the owner's weights; the owner's CLI sees and
// deletes any user's models with --user / list --all; rows follow their manifests; a keep_alive
// too long for a clock means forever.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "db/db_test_support.h"
#include "server/server_process.h"
#include "store/http_file_server.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace json = boost::json;
using test::http;
using test::json_from;
using test::HttpOptions;
using test::HttpResult;

using test::Env;

class ModelNamesEndToEnd : public db::test::BackendTest {};

using test::token_for;

std::vector<std::string> names_in(const HttpResult& tags) {
  EXPECT_EQ(tags.status, 200) << tags.body;
  std::vector<std::string> names;
  const json::value parsed = json_from(tags.body);
  for (const auto& m : parsed.at("models").as_array())
    names.push_back(json::value_to<std::string>(m.at("name")));
  return names;
}

TEST_P(ModelNamesEndToEnd, AnotherUserCannotReplaceOrDeleteTheOwnersName) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir home;
  const Env env{{"HEARTH_HOME", home.path().string()}, {"HEARTH_DB", url()}, {"HEARTH_LOG", "warn"}};
  auto hearth = [&](const std::vector<std::string>& args) { return test::run_hearth(args, env); };

  // The owner installs the name first, and notes what it generates.
  const std::string owners_file = (dir / "models" / "llama-gqa-f32.gguf").string();
  auto r = hearth({"pull", owners_file, "--name", "fast-assistant:q4_k_m"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<std::string> generate{"generate", "fast-assistant", "--prompt", "Hi", "--greedy",
                                          "-n", "6", "--ids"};
  const auto owners_answer = hearth(generate);
  ASSERT_EQ(owners_answer.exit_code, 0) << owners_answer.err;
  const auto from_file = hearth({"generate", owners_file, "--prompt", "Hi", "--greedy", "-n", "6", "--ids"});
  ASSERT_EQ(owners_answer.out, from_file.out);

  const std::string bob_token = token_for(env, "bob");
  ASSERT_FALSE(bob_token.empty());
  Env server_env = env;
  server_env.emplace_back("HEARTH_ALLOW_PRIVATE_URLS", "1");  // bob pulls from a loopback server
  test::ServerProcess server(home.path(), {}, server_env);
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  HttpOptions as_bob;
  as_bob.headers = {"Authorization: Bearer " + bob_token};
  auto bob = [&](const std::string& method, const std::string& path, const json::value& body) {
    const std::string text = format_json(body);
    return http(method, server.url(path), body.is_null() ? nullptr : &text, as_bob);
  };

  // Bob cannot see the owner's name: 404, as for a name nobody has.
  EXPECT_EQ(bob("POST", "/api/show", {{"model", "fast-assistant:q4_k_m"}}).status, 404);
  test::HttpFileServer files(dir / "models");
  HttpResult h = bob("POST", "/api/pull", {{"model", files.url("llama3-f16.gguf")}, {"stream", false}});
  ASSERT_EQ(h.status, 200) << h.body;

  // A keep_alive beyond what a clock holds means forever: /api/ps shows a date a century away,
  // not "unload now" or a date before 1970.
  h = bob("POST", "/api/generate", {{"model", "llama3-f16"}, {"keep_alive", 1e300}});
  ASSERT_EQ(h.status, 200) << h.body;
  const json::value ps = json_from(bob("GET", "/api/ps", nullptr).body);
  ASSERT_EQ(ps.at("models").as_array().size(), 1u) << format_json(ps);
  EXPECT_EQ(ps.at_pointer("/models/0/name").as_string(), "llama3-f16:latest");
  const std::string expires_at = json::value_to<std::string>(ps.at_pointer("/models/0/expires_at"));
  EXPECT_GE(std::stoi(expires_at.substr(0, 4)), 2100) << format_json(ps);

  // The attack: Bob copies his weights onto the owner's name. It becomes Bob's own name.
  h = bob("POST", "/api/copy", {{"source", "llama3-f16"}, {"destination", "fast-assistant:q4_k_m"}});
  ASSERT_EQ(h.status, 200) << h.body;
  EXPECT_EQ(names_in(bob("GET", "/api/tags", nullptr)),
            (std::vector<std::string>{"fast-assistant:q4_k_m", "llama3-f16:latest"}));
  const auto after_copy = hearth(generate);
  ASSERT_EQ(after_copy.exit_code, 0) << after_copy.err;
  EXPECT_EQ(after_copy.out, owners_answer.out) << "the owner's name runs other weights";

  // Both users' rows follow their manifests.
  const json::value bobs_rows = json_from(bob("GET", "/api/personal-models", nullptr).body);
  ASSERT_EQ(bobs_rows.at("models").as_array().size(), 2u) << format_json(bobs_rows);

  // The owner sees every user's models, and whose they are.
  r = hearth({"list", "--all"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("USER"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bob"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("local"), std::string::npos) << r.out;
  r = hearth({"list"});
  EXPECT_EQ(r.out.find("llama3-f16"), std::string::npos) << "the owner's list shows Bob's model:\n" << r.out;

  // Bob deletes his own name: it is gone for him (a second delete is 404, never 200), and the
  // owner's model is untouched.
  h = bob("DELETE", "/api/delete", {{"model", "fast-assistant:q4_k_m"}});
  EXPECT_EQ(h.status, 200) << h.body;
  EXPECT_EQ(bob("DELETE", "/api/delete", {{"model", "fast-assistant:q4_k_m"}}).status, 404);
  EXPECT_EQ(names_in(bob("GET", "/api/tags", nullptr)), std::vector<std::string>{"llama3-f16:latest"});
  const auto after_delete = hearth(generate);
  ASSERT_EQ(after_delete.exit_code, 0) << after_delete.err;
  EXPECT_EQ(after_delete.out, owners_answer.out);

  // The owner's CLI deletes a user's model by naming the user; Bob's list and rows follow.
  r = hearth({"rm", "--user", "bob", "llama3-f16"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(names_in(bob("GET", "/api/tags", nullptr)).empty());
  EXPECT_TRUE(
      json_from(bob("GET", "/api/personal-models", nullptr).body).at("models").as_array().empty());
  EXPECT_EQ(hearth({"rm", "--user", "bob", "llama3-f16"}).exit_code, 3);
  EXPECT_EQ(hearth({"rm", "--user", "nobody", "llama3-f16"}).exit_code, 3);
  EXPECT_EQ(hearth({"list", "--user", "bob"}).exit_code, 0);
  EXPECT_EQ(hearth(generate).out, owners_answer.out);
}

INSTANTIATE_TEST_SUITE_P(Backends, ModelNamesEndToEnd,
                         ::testing::Values(db::Backend::sqlite, db::Backend::postgresql),
                         [](const auto& info) { return std::string(db::backend_name(info.param)); });

}  // namespace
}  // namespace hearth
