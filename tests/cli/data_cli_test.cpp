// `hearth data export` and `hearth data validate` through the real binary, on conversations
// seeded through the db module into a SQLite database in a temporary HEARTH_HOME.
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "crypto/sealed_file.h"
#include "data/data.h"
#include "db/conversations.h"
#include "support/test_support.h"

namespace hearth {
namespace {

using test::CommandResult;

using test::contains;

// The path printed after `label` on its own line of `hearth data export`'s output.
std::string printed_path(const std::string& out, const std::string& label) {
  std::size_t at = out.find(label);
  if (at == std::string::npos) return {};
  std::size_t start = out.find('/', at);
  return out.substr(start, out.find('\n', start) - start);
}

class DataCliTest : public ::testing::Test {
 protected:
  std::string db_url() const { return "sqlite://" + (temp.path() / "hearth.db").string(); }
  CommandResult hearth(const std::vector<std::string>& args) const {
    return test::run_hearth(args, {{"HEARTH_HOME", (temp.path() / "home").string()},
                                   {"HEARTH_DB", db_url()},
                                   {"HEARTH_LOG", "warn"}});
  }
  // `n` opted-in conversations of `user`, each answer rated `rating`.
  void seed(const std::string& user, int n, int rating) {
    db::Database db = db::Database::open(db_url());
    db::Users users(db);
    auto u = users.find_by_name(user);
    std::int64_t id = u ? u->id : users.create(user, "", "").id;
    db::UserSettingsStore(db).set({.user_id = id, .training_opt_in = true});
    db::Conversations conversations(db);
    for (int i = 0; i < n; ++i) {
      auto c = conversations.create({.user_id = id, .model = "tiny:latest", .source = "openai"});
      conversations.add_message(id, c.id,
                                {.role = "user", .content = user + " asks " + std::to_string(i)});
      auto a = conversations.add_message(
          id, c.id, {.role = "assistant", .content = "answer " + std::to_string(i)});
      db::FeedbackStore(db).upsert(id, a.id, {.rating = rating});
    }
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto path = temp.path() / name;
    std::ofstream(path) << text;
    return path.string();
  }
  test::TempDir temp;
};

TEST_F(DataCliTest, ExportsTheLocalUsersDataAndEveryLineValidates) {
  seed("local", 120, 5);
  seed("ada", 10, 5);  // someone else's conversations never show up
  CommandResult r = hearth({"data", "export", "--validation", "0.1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "Exported")) << r.out;
  EXPECT_TRUE(contains(r.out, "content hash:    sha256:")) << r.out;
  EXPECT_TRUE(contains(r.out, "dataset version: 1")) << r.out;
  std::string train = printed_path(r.out, "train:");
  std::string validation = printed_path(r.out, "validation:");
  ASSERT_FALSE(train.empty()) << r.out;
  ASSERT_FALSE(validation.empty()) << r.out;
  EXPECT_TRUE(contains(train, (temp.path() / "home" / "datasets").string())) << train;

  data::ValidationReport t = data::validate_jsonl(train), v = data::validate_jsonl(validation);
  EXPECT_EQ(t.examples.size() + v.examples.size(), 120u);
  EXPECT_GE(v.examples.size(), 1u);
  for (const auto& file : {train, validation}) {
    CommandResult check = hearth({"data", "validate", file});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
    EXPECT_TRUE(contains(check.out, "0 issues")) << check.out;
    EXPECT_TRUE(crypto::is_sealed_file(file)) << file;  // kept under HEARTH_HOME: encrypted
    db::Database db = db::Database::open(db_url());     // whose keys open it
    const std::string all = crypto::read_file(file);
    EXPECT_FALSE(contains(all, "ada asks")) << "another user's data was exported";
  }
}

TEST_F(DataCliTest, RefusesTooFewExamplesUnlessAllowed) {
  seed("ada", 7, 4);
  CommandResult r = hearth({"data", "export", "--user", "ada"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "only 7 qualifying examples; at least 100")) << r.err;
  // The command line names its own flag, not the API's field.
  EXPECT_TRUE(contains(r.err, "(--allow-small to export anyway)")) << r.err;

  r = hearth({"data", "export", "--user", "ada", "--min-score", "0.8", "--allow-small"});
  EXPECT_EQ(r.exit_code, 2);  // rating 4 scores 0.75: nothing qualifies
  EXPECT_TRUE(contains(r.err, "no qualifying examples")) << r.err;
  EXPECT_TRUE(contains(r.err, "scoring at least 0.8\n")) << r.err;  // not 0.800000

  std::string out = (temp.path() / "elsewhere").string();
  r = hearth({"data", "export", "--user", "ada", "--allow-small", "--since", "2020-01-01", "--out",
              out, "--redact-pii"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(printed_path(r.out, "train:"), out)) << r.out;

  EXPECT_EQ(hearth({"data", "export", "--user", "nobody"}).exit_code, 3);
  r = hearth({"data", "export", "--user", "ada", "--since", "yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(contains(r.err, "YYYY-MM-DD")) << r.err;
  r = hearth(
      {"data", "export", "--user", "ada", "--allow-small", "--since", "2999-01-01T00:00:00Z"});
  EXPECT_EQ(r.exit_code, 2) << r.out;
}

TEST_F(DataCliTest, ValidateReportsIssuesByLine) {
  std::string file =
      write("bad.jsonl",
            R"({"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]})"
            "\n"
            R"({"messages":[{"role":"user","content":""},{"role":"assistant","content":"a"}]})"
            "\n"
            "not json\n");
  CommandResult r = hearth({"data", "validate", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.out, "line 2: missing_content:")) << r.out;
  EXPECT_TRUE(contains(r.out, "line 3: invalid_json:")) << r.out;
  EXPECT_TRUE(contains(r.out, "3 examples, 1 valid, 2 issues")) << r.out;
  EXPECT_EQ(hearth({"data", "validate", (temp.path() / "missing.jsonl").string()}).exit_code, 3);
}

TEST_F(DataCliTest, ValidateCountsTokensWithTheModelsTokenizer) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto vocab = (dir / "tokenizer" / "ggml-vocab-llama-spm.gguf").string();
  std::string words;
  for (int i = 0; i < 5000; ++i) words += "hello ";
  std::string file = write(
      "long.jsonl",
      R"({"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello"}]})"
      "\n"
      R"({"messages":[{"role":"user","content":")" +
          words +
          R"("},{"role":"assistant","content":"ok"}]})"
          "\n");
  CommandResult r = hearth({"data", "validate", file, "--model", vocab});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "examples 2, min ")) << r.out;
  EXPECT_TRUE(contains(r.out, "line 2: ")) << r.out;
  EXPECT_TRUE(contains(r.out, "more than the context of 4096")) << r.out;
  EXPECT_TRUE(contains(r.out, "1 example longer than the context length 4096")) << r.out;
}

}  // namespace
}  // namespace hearth
