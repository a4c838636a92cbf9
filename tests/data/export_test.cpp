// export_dataset() and readiness() on both backends: weights, the split, the thresholds, dedupe,
// redaction, opt-in and user scoping; every written line passes validate_jsonl().
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "crypto/sealed_file.h"
#include "core/sha256.h"
#include "data/data.h"
#include "db/db_test_support.h"
#include "support/json_test_util.h"

namespace hearth::data {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::vector<json::value> read_lines(const fs::path& file) {
  std::vector<json::value> out;
  if (file.empty()) return out;
  std::istringstream in(crypto::read_file(file));  // kept sealed under the user's key
  for (std::string line; std::getline(in, line);) out.push_back(hearth::test::json_from(line));
  return out;
}

std::string text(const json::value& v) { return std::string(v.as_string()); }

// The messages of one exported line, and the question it starts with (after any system prompt).
const json::array& messages(const json::value& line) { return line.at("messages").as_array(); }
std::string question(const json::array& m) {
  return text(m[0].at("role") == "system" ? m[1].at("content") : m[0].at("content"));
}

std::string read_file(const fs::path& file) {
  EXPECT_TRUE(crypto::is_sealed_file(file)) << file;
  return crypto::read_file(file);
}

class ExportTest : public db::test::BackendTest {
 protected:
  // One conversation "q<tag>" → "a<tag>" with the given feedback (nullopt: none).
  std::int64_t chat(const db::Database& db, std::int64_t user, const std::string& tag,
                    std::optional<db::NewFeedback> fb, const std::string& model = "tiny:latest") {
    db::Conversations conversations(db);
    auto c = conversations.create({.user_id = user, .model = model, .source = "openai"});
    conversations.add_message(user, c.id, {.role = "system", .content = "Be kind."});
    conversations.add_message(user, c.id, {.role = "user", .content = "q" + tag});
    auto a = conversations.add_message(user, c.id, {.role = "assistant", .content = "a" + tag});
    if (fb) db::FeedbackStore(db).upsert(user, a.id, *fb);
    return c.id;
  }
  void allow(const db::Database& db, std::int64_t user) {
    db::UserSettingsStore(db).set({.user_id = user, .training_opt_in = true});
  }
  ExportResult run(const db::Database& db, std::int64_t user, ExportOptions o) {
    return export_dataset(db, user, o, out.path() / "datasets");
  }
  std::vector<json::value> everything(const ExportResult& r) {
    auto lines = read_lines(r.train_path);
    for (auto& j : read_lines(r.validation_path)) lines.push_back(j);
    return lines;
  }
  hearth::test::TempDir out;
};
HEARTH_DB_BACKENDS(ExportTest);

TEST_P(ExportTest, WeightsOnlyQualifyingTurnsAndSplitsByConversation) {
  std::int64_t ada = make_user("ada");
  db::Database db = open();
  allow(db, ada);
  db::Conversations conversations(db);
  // 40 conversations: rated 5 (1.0), thumbs down (0.0), corrected (0.95), no feedback (0.5).
  std::set<std::string> qualifying;
  for (int i = 0; i < 40; ++i) {
    std::string tag = std::to_string(i);
    switch (i % 4) {
      case 0:
        chat(db, ada, tag, db::NewFeedback{.rating = 5});
        qualifying.insert("q" + tag);
        break;
      case 1:
        chat(db, ada, tag, db::NewFeedback{.thumbs = -1});
        break;
      case 2:
        chat(db, ada, tag, db::NewFeedback{.thumbs = -1, .corrected_answer = "fixed" + tag});
        qualifying.insert("q" + tag);
        break;
      default:
        chat(db, ada, tag, std::nullopt);
    }
  }
  // Two answers, a bad one and a good one: one example, weights 0 then 1; a trailing question.
  auto c = conversations.create({.user_id = ada, .model = "tiny:latest"});
  conversations.add_message(ada, c.id, {.role = "user", .content = "qmulti"});
  auto bad = conversations.add_message(ada, c.id, {.role = "assistant", .content = "bad"});
  conversations.add_message(ada, c.id, {.role = "user", .content = "again"});
  auto good = conversations.add_message(ada, c.id, {.role = "assistant", .content = "good"});
  conversations.add_message(ada, c.id, {.role = "user", .content = "unanswered"});
  db::FeedbackStore(db).upsert(ada, bad.id, {.rating = 2});
  db::FeedbackStore(db).upsert(ada, good.id, {.thumbs = 1});
  qualifying.insert("qmulti");

  ExportResult r = run(db, ada, {.min_score = 0.7, .min_examples = 20, .validation = 0.2});
  EXPECT_EQ(r.train_examples + r.validation_examples, 21);
  EXPECT_GE(r.validation_examples, 1);
  EXPECT_EQ(r.weighted_turns, 21);
  EXPECT_EQ(r.duplicates_removed, 0);

  std::set<std::string> train_q, validation_q;
  for (auto& j : read_lines(r.validation_path)) validation_q.insert(question(messages(j)));
  for (auto& j : read_lines(r.train_path)) train_q.insert(question(messages(j)));
  for (const auto& q : validation_q) EXPECT_FALSE(train_q.count(q)) << q << " is in both files";
  std::set<std::string> exported = train_q;
  exported.insert(validation_q.begin(), validation_q.end());
  EXPECT_EQ(exported, qualifying);

  for (const json::value& j : everything(r)) {
    const json::array& m = messages(j);
    for (const auto& msg : m) {
      if (msg.at("role") != "assistant") {
        EXPECT_FALSE(hearth::test::has_key(msg, "weight"));
        continue;
      }
      const std::string content = text(msg.at("content"));
      if (content == "bad")
        EXPECT_EQ(msg.at("weight"), 0);
      else
        EXPECT_EQ(msg.at("weight"), 1) << content;
      // Corrected answers (conversations 2, 6, 10, ...) are exported as the correction.
      const std::string q = question(m);
      if (q != "qmulti" && std::stoi(q.substr(1)) % 4 == 2) {
        EXPECT_EQ(content, "fixed" + q.substr(1));
      }
    }
    EXPECT_EQ(m.back().at("role"), "assistant");  // the unanswered question is dropped
  }
  for (const fs::path& f : {r.train_path, r.validation_path}) {
    ValidationReport v = validate_jsonl(f);
    EXPECT_TRUE(v.issues.empty()) << f << ": " << v.issues.front().code;
    EXPECT_EQ(v.examples.size(), v.lines);
  }

  // The hash names both files' bytes, and the version records it with the filter.
  EXPECT_EQ(r.content_hash, sha256_hex(read_file(r.train_path) + read_file(r.validation_path)));
  EXPECT_NE(r.train_path.filename().string().find(r.content_hash.substr(0, 8)), std::string::npos);
  auto v = db::DatasetVersions(db).find(ada, r.dataset_version_id);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->content_hash, r.content_hash);
  EXPECT_EQ(v->train_examples, r.train_examples);
  EXPECT_EQ(v->validation_examples, r.validation_examples);
  EXPECT_EQ(v->train_path, r.train_path.string());
  EXPECT_DOUBLE_EQ(hearth::test::json_from(v->filter).at("min_score").as_double(), 0.7);
  EXPECT_EQ(hearth::test::json_from(v->filter),
            hearth::test::json_from(R"({"allow_small": false, "min_examples": 20, "min_score": 0.7,
                "model": "", "redact_pii": false, "seed": 0, "since": null, "validation": 0.2})"));
  // Each line is written in one fixed form: no spaces, keys in byte order, whole-number weights.
  const std::string written = read_file(r.train_path) + read_file(r.validation_path);
  EXPECT_TRUE(hearth::test::contains(
      written,
      R"({"messages":[{"content":"qmulti","role":"user"},{"content":"bad","role":"assistant",)"
      R"("weight":0},{"content":"again","role":"user"},{"content":"good","role":"assistant",)"
      R"("weight":1}]})"
      "\n"))
      << written;

  // The same seed gives the same split; the threshold moves what qualifies.
  ExportResult again = run(db, ada, {.min_score = 0.7, .min_examples = 20, .validation = 0.2});
  EXPECT_EQ(again.content_hash, r.content_hash);
  ExportResult strict = run(db, ada, {.min_score = 0.96, .min_examples = 1, .validation = 0});
  EXPECT_EQ(strict.train_examples, 10);  // only the rating-5 answers (1.0 ≥ 0.96 > 0.95)
  EXPECT_TRUE(strict.validation_path.empty());

  auto ready = readiness(db, ada, 0.7, 100);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].model, "tiny:latest");
  EXPECT_EQ(ready[0].qualifying, 21);
  EXPECT_EQ(ready[0].needed, 100);
}

TEST_P(ExportTest, RefusesTooFewExamplesWithTheCount) {
  std::int64_t ada = make_user("ada");
  db::Database db = open();
  allow(db, ada);
  for (int i = 0; i < 3; ++i) chat(db, ada, std::to_string(i), db::NewFeedback{.thumbs = 1});
  try {
    run(db, ada, {});
    ADD_FAILURE() << "exported 3 examples with a minimum of 100";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
    EXPECT_NE(std::string(e.what()).find("only 3 qualifying examples; at least 100"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(fs::exists(out.path() / "datasets"));  // nothing written
  EXPECT_TRUE(db::DatasetVersions(db).list(ada).empty());

  ExportResult r = run(db, ada, {.allow_small = true, .validation = 0.1});
  EXPECT_EQ(r.train_examples, 2);
  EXPECT_EQ(r.validation_examples, 1);  // at least one when a split was asked for
  EXPECT_EQ(db::DatasetVersions(db).list(ada).size(), 1u);
}

// One rule for readiness, the export and training jobs: a score above the threshold qualifies,
// a score equal to it does not (a rating of 4 scores 0.75).
TEST_P(ExportTest, QualifyingMeansAboveTheThreshold) {
  std::int64_t ada = make_user("ada");
  db::Database db = open();
  allow(db, ada);
  chat(db, ada, "four", db::NewFeedback{.rating = 4});
  chat(db, ada, "up", db::NewFeedback{.thumbs = 1});
  ExportResult r = run(db, ada, {.min_score = 0.75, .min_examples = 1, .validation = 0});
  EXPECT_EQ(r.train_examples, 1);
  EXPECT_EQ(question(messages(read_lines(r.train_path).at(0))), "qup");
  auto ready = readiness(db, ada, 0.75, 100);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].qualifying, 1);
  EXPECT_EQ(readiness(db, ada, 0.7, 100).at(0).qualifying, 2);
}

TEST_P(ExportTest, RemovesDuplicatesAndRedacts) {
  std::int64_t ada = make_user("ada");
  db::Database db = open();
  allow(db, ada);
  chat(db, ada, "same", db::NewFeedback{.thumbs = 1});
  chat(db, ada, "same", db::NewFeedback{.rating = 5});
  // Different before redaction, identical after it.
  chat(db, ada, " mail ada@example.com", db::NewFeedback{.thumbs = 1});
  chat(db, ada, " mail bob@example.org", db::NewFeedback{.thumbs = 1});
  ExportResult r = run(db, ada, {.min_examples = 0, .validation = 0, .redact_pii = true});
  EXPECT_EQ(r.train_examples, 2);
  EXPECT_EQ(r.duplicates_removed, 2);
  std::string text = read_file(r.train_path);
  EXPECT_EQ(text.find("@example"), std::string::npos) << text;
  EXPECT_NE(text.find("[EMAIL]"), std::string::npos) << text;

  ExportResult plain = run(db, ada, {.min_examples = 0, .validation = 0});
  EXPECT_EQ(plain.train_examples, 3);
  EXPECT_EQ(plain.duplicates_removed, 1);
}

TEST_P(ExportTest, ReasoningStaysOutOfTargetsUnlessKept) {
  std::int64_t ada = make_user("ada");
  db::Database db = open();
  allow(db, ada);
  db::Conversations conversations(db);
  auto c = conversations.create({.user_id = ada, .model = "tiny:latest", .source = "openai"});
  conversations.add_message(ada, c.id, {.role = "user", .content = "2+2?"});
  auto a = conversations.add_message(
      ada, c.id, {.role = "assistant", .content = "4", .reasoning = "two and two, ada@example.com"});
  db::FeedbackStore(db).upsert(ada, a.id, db::NewFeedback{.thumbs = 1});
  // Stored apart, sealed like the content, and read back.
  EXPECT_EQ(conversations.messages(ada, c.id).back().reasoning, "two and two, ada@example.com");

  auto answer = [&](const ExportResult& r) {
    const auto lines = read_lines(r.train_path);
    EXPECT_EQ(lines.size(), 1u);
    return lines.empty() ? std::string() : text(messages(lines[0]).back().at("content"));
  };
  EXPECT_EQ(answer(run(db, ada, {.min_examples = 0, .validation = 0})), "4");
  EXPECT_EQ(answer(run(db, ada, {.min_examples = 0, .validation = 0, .keep_thinking = true})),
            "<think>\ntwo and two, ada@example.com\n</think>\n\n4");
  EXPECT_EQ(answer(run(db, ada, {.min_examples = 0, .validation = 0, .redact_pii = true,
                                 .keep_thinking = true})),
            "<think>\ntwo and two, [EMAIL]\n</think>\n\n4");
}

TEST_P(ExportTest, RespectsOptInAndNeverExportsAnotherUsersData) {
  std::int64_t ada = make_user("ada");
  std::int64_t eve = make_user("eve");
  db::Database db = open();
  db::Conversations conversations(db);
  allow(db, eve);
  for (int i = 0; i < 5; ++i)
    chat(db, eve, "eve" + std::to_string(i), db::NewFeedback{.rating = 5});
  // ada has not opted in: only the conversation she allowed counts.
  std::int64_t allowed = chat(db, ada, "allowed", db::NewFeedback{.rating = 5});
  chat(db, ada, "private", db::NewFeedback{.rating = 5});
  conversations.set_training_opt_in(ada, allowed, true);
  ExportResult r = run(db, ada, {.min_examples = 1, .validation = 0});
  EXPECT_EQ(r.train_examples, 1);
  std::string text = read_file(r.train_path);
  EXPECT_NE(text.find("qallowed"), std::string::npos);
  EXPECT_EQ(text.find("qprivate"), std::string::npos);
  EXPECT_EQ(text.find("eve"), std::string::npos) << "another user's data was exported";

  // Opted in as a user, out for one conversation.
  allow(db, ada);
  conversations.set_training_opt_in(ada, allowed, false);
  r = run(db, ada, {.min_examples = 1, .validation = 0});
  text = read_file(r.train_path);
  EXPECT_EQ(text.find("qallowed"), std::string::npos);
  EXPECT_NE(text.find("qprivate"), std::string::npos);
  EXPECT_EQ(text.find("eve"), std::string::npos);

  // Model and time filters.
  chat(db, ada, "other-model", db::NewFeedback{.rating = 5}, "big:latest");
  r = run(db, ada, {.min_examples = 1, .model = "big:latest", .validation = 0});
  EXPECT_EQ(r.train_examples, 1);
  EXPECT_THROW(run(db, ada, {.min_examples = 0, .since = db::now() + std::chrono::hours(1)}),
               Error);
  EXPECT_THROW(run(db, ada, {.validation = 1.0}), Error);
  EXPECT_THROW(run(db, ada, {.min_score = -0.1}), Error);
}

}  // namespace
}  // namespace hearth::data
