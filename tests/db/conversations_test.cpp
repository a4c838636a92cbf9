// Conversations, messages, feedback, user settings and dataset versions on both backends: every
// read and write is scoped by user, messages form a tree whose current branch is the history,
// regenerated answers stay beside their replacements.
#include <chrono>
#include <thread>

#include "db/conversations.h"
#include "db_test_support.h"
#include "support/json_test_util.h"

namespace hearth::db {
namespace {

namespace json = boost::json;
using hearth::test::json_from;

using test::BackendTest;

class ConversationsTest : public BackendTest {};
HEARTH_DB_BACKENDS(ConversationsTest);

std::vector<int> positions(const std::vector<Message>& messages) {
  std::vector<int> out;
  for (const auto& m : messages) out.push_back(m.position);
  return out;
}

TEST_P(ConversationsTest, CreatesAndAppendsInPositionOrder) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  Conversations conversations(db);
  Conversation c = conversations.create({.user_id = ada,
                                         .model = "tiny:latest",
                                         .source = "openai",
                                         .parameters = R"({"temperature": 0.5})"});
  EXPECT_GT(c.id, 0);
  EXPECT_EQ(c.user_id, ada);
  EXPECT_EQ(c.model, "tiny:latest");
  EXPECT_EQ(c.source, "openai");
  EXPECT_EQ(json_from(c.parameters), json::value(json::object{{"temperature", 0.5}}));
  EXPECT_FALSE(c.training_opt_in.has_value());
  EXPECT_EQ(c.message_count, 0);

  Message sys = conversations.add_message(ada, c.id, {.role = "system", .content = "Be brief."});
  Message user = conversations.add_message(
      ada, c.id, {.role = "user", .content = std::string(100, 'q') + "\nsecond line"});
  Message answer = conversations.add_message(ada, c.id,
                                             {.role = "assistant",
                                              .content = "A.",
                                              .model = "tiny:latest",
                                              .prompt_tokens = 12,
                                              .completion_tokens = 3,
                                              .duration_ms = 40});
  EXPECT_EQ(sys.position, 0);
  EXPECT_EQ(user.position, 1);
  EXPECT_EQ(answer.position, 2);
  EXPECT_EQ(answer.prompt_tokens, 12);
  EXPECT_EQ(answer.completion_tokens, 3);
  EXPECT_EQ(answer.duration_ms, 40);
  EXPECT_FALSE(answer.quality_score.has_value());

  auto found = conversations.find(ada, c.id);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->message_count, 3);
  EXPECT_EQ(found->title, std::string(80, 'q'));  // the first user message, first line, cut
  EXPECT_GE(found->updated_at, c.updated_at);
  EXPECT_EQ(positions(conversations.messages(ada, c.id)), (std::vector<int>{0, 1, 2}));

  EXPECT_DB_ERROR(conversations.add_message(ada, c.id, {.role = "robot", .content = "x"}),
                  ErrorKind::invalid_input);
  EXPECT_DB_ERROR(conversations.add_message(ada, c.id + 1000, {.role = "user", .content = "x"}),
                  ErrorKind::not_found);
  EXPECT_DB_ERROR(conversations.create({.user_id = ada + 1000, .model = "m"}),
                  ErrorKind::not_found);
  EXPECT_DB_ERROR(conversations.create({.user_id = ada, .parameters = "{bad"}),
                  ErrorKind::invalid_input);
}

TEST_P(ConversationsTest, RegeneratedAnswerStaysBesideItsReplacement) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  Conversations conversations(db);
  Conversation c = conversations.create({.user_id = ada, .model = "m", .source = "ollama"});
  Message hi = conversations.add_message(ada, c.id, {.role = "user", .content = "Hi"});
  EXPECT_FALSE(hi.parent_id.has_value());
  Message first = conversations.add_message(ada, c.id, {.role = "assistant", .content = "Hello"});
  EXPECT_EQ(first.parent_id, std::optional<std::int64_t>(hi.id));
  conversations.mark_regenerated(ada, first.id);
  // The new answer is a second child of the question and becomes the current leaf.
  Message second = conversations.add_message(
      ada, c.id, {.parent_id = hi.id, .role = "assistant", .content = "Hey"});
  EXPECT_EQ(second.position, 1);  // the same depth as the answer it replaces
  EXPECT_EQ(second.parent_id, std::optional<std::int64_t>(hi.id));
  EXPECT_EQ(conversations.find(ada, c.id)->current_message_id,
            std::optional<std::int64_t>(second.id));

  auto branch = conversations.messages(ada, c.id);
  ASSERT_EQ(branch.size(), 2u);
  EXPECT_EQ(branch[0].id, hi.id);
  EXPECT_EQ(branch[1].id, second.id);
  auto tree = conversations.every_message(ada, c.id);
  ASSERT_EQ(tree.size(), 3u);  // the replaced answer is still there
  auto replaced = conversations.find_message(ada, c.id, first.id);
  ASSERT_TRUE(replaced);
  EXPECT_TRUE(replaced->regenerated);
  EXPECT_EQ(replaced->content, "Hello");
  EXPECT_EQ(conversations.find(ada, c.id)->message_count, 2);

  // Appending without a parent continues the current branch.
  Message next = conversations.add_message(ada, c.id, {.role = "user", .content = "More"});
  EXPECT_EQ(next.parent_id, std::optional<std::int64_t>(second.id));
  EXPECT_EQ(next.position, 2);
  EXPECT_EQ(conversations.find(ada, c.id)->message_count, 3);
  // A parent of another conversation is not found; a second root starts a new branch.
  Conversation other = conversations.create({.user_id = ada, .model = "m"});
  EXPECT_DB_ERROR(conversations.add_message(ada, other.id,
                                            {.parent_id = hi.id, .role = "user", .content = "x"}),
                  ErrorKind::not_found);
  Message root =
      conversations.add_message(ada, c.id, {.root = true, .role = "user", .content = "Hi again"});
  EXPECT_FALSE(root.parent_id.has_value());
  EXPECT_EQ(root.position, 0);
  ASSERT_EQ(conversations.messages(ada, c.id).size(), 1u);
  EXPECT_EQ(conversations.find(ada, c.id)->message_count, 1);

  conversations.mark_continued(ada, second.id);
  conversations.set_quality(ada, second.id, 0.65);
  auto m = conversations.find_message(ada, second.id);
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->continued);
  EXPECT_DOUBLE_EQ(*m->quality_score, 0.65);
  EXPECT_DB_ERROR(conversations.set_quality(ada, second.id, 1.5), ErrorKind::invalid_input);
  EXPECT_FALSE(conversations.find_message(ada, c.id + 1, second.id));  // wrong conversation
}

// Migration 6 turns the old live history (positions 0, 1, ...) and retired answers (position
// -1) into the tree: the history becomes the current branch, a retired answer a sibling of the
// answer that took its place.
TEST_P(ConversationsTest, MigrationBuildsTheTreeFromStoredHistories) {
  const std::int64_t ada = 1;  // planted at version 5 (make_user would migrate to the latest)
  {
    Database v5 = open({.migrate_to = 5});
    ASSERT_EQ(v5.schema_version(), 5);
    const std::string t = "'2026-01-01T00:00:00.000Z'";
    test::raw_sql(v5, "INSERT INTO users (id, username, created_at) VALUES (1, 'ada', " + t + ")");
    test::raw_sql(
        v5,
        "INSERT INTO conversations (id, user_id, model, source, title, parameters, message_count, "
        "created_at, updated_at) VALUES (7, " +
            std::to_string(ada) + ", 'm', 'openai', 'Hi', '{}', 4, " + t + ", " + t + ")");
    test::raw_sql(
        v5,
        "INSERT INTO conversations (id, user_id, model, source, title, parameters, message_count, "
        "created_at, updated_at) VALUES (8, " +
            std::to_string(ada) + ", 'm', 'openai', '', '{}', 0, " + t + ", " + t + ")");
    // 11 Hi, 12 first answer (retired), 13 second answer, 14 follow-up, 15 its answer.
    const char* rows[][3] = {{"11", "0", "user"},
                             {"12", "-1", "assistant"},
                             {"13", "1", "assistant"},
                             {"14", "2", "user"},
                             {"15", "3", "assistant"}};
    for (const auto& r : rows)
      test::raw_sql(
          v5, std::string("INSERT INTO messages (id, conversation_id, position, role, content, "
                          "regenerated, created_at) VALUES (") +
                  r[0] + ", 7, " + r[1] + ", '" + r[2] + "', 'm" + r[0] + "', " +
                  (std::string(r[0]) == "12" ? "1" : "0") + ", " + t + ")");
  }
  Database db = open();
  Conversations conversations(db);
  auto c = conversations.find(ada, 7);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->current_message_id, std::optional<std::int64_t>(15));
  std::vector<std::int64_t> branch;
  for (const auto& m : conversations.messages(ada, 7)) branch.push_back(m.id);
  EXPECT_EQ(branch, (std::vector<std::int64_t>{11, 13, 14, 15}));
  auto replaced = conversations.find_message(ada, 12);
  ASSERT_TRUE(replaced);
  EXPECT_EQ(replaced->parent_id, std::optional<std::int64_t>(11));
  EXPECT_EQ(replaced->position, 1);
  EXPECT_TRUE(replaced->regenerated);
  EXPECT_EQ(conversations.find_message(ada, 14)->parent_id, std::optional<std::int64_t>(13));
  EXPECT_FALSE(conversations.find(ada, 8)->current_message_id.has_value());
  EXPECT_TRUE(conversations.messages(ada, 8).empty());
  // New messages go on from the current leaf.
  Message more = conversations.add_message(ada, 7, {.role = "user", .content = "again"});
  EXPECT_EQ(more.parent_id, std::optional<std::int64_t>(15));
}

TEST_P(ConversationsTest, AnotherUsersRowsAreNotFoundAndUnchanged) {
  std::int64_t ada = make_user("ada");
  std::int64_t eve = make_user("eve");
  Database db = open();
  Conversations conversations(db);
  FeedbackStore feedback(db);
  Conversation c = conversations.create({.user_id = ada, .model = "m"});
  conversations.add_message(ada, c.id, {.role = "user", .content = "secret plans"});
  Message a = conversations.add_message(ada, c.id, {.role = "assistant", .content = "ok"});

  EXPECT_FALSE(conversations.find(eve, c.id));
  EXPECT_TRUE(conversations.messages(eve, c.id).empty());
  EXPECT_FALSE(conversations.find_message(eve, c.id, a.id));
  EXPECT_FALSE(conversations.find_message(eve, a.id));
  EXPECT_TRUE(conversations.list(eve).empty());
  EXPECT_TRUE(conversations.all(eve).empty());
  EXPECT_DB_ERROR(conversations.add_message(eve, c.id, {.role = "user", .content = "x"}),
                  ErrorKind::not_found);
  EXPECT_DB_ERROR(conversations.mark_regenerated(eve, a.id), ErrorKind::not_found);
  EXPECT_DB_ERROR(conversations.mark_continued(eve, a.id), ErrorKind::not_found);
  EXPECT_DB_ERROR(conversations.set_quality(eve, a.id, 1.0), ErrorKind::not_found);
  EXPECT_DB_ERROR(conversations.set_training_opt_in(eve, c.id, true), ErrorKind::not_found);
  EXPECT_DB_ERROR(feedback.upsert(eve, a.id, {.thumbs = -1}), ErrorKind::not_found);
  EXPECT_FALSE(conversations.remove(eve, c.id));

  auto still = conversations.find(ada, c.id);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->message_count, 2);
  EXPECT_FALSE(still->training_opt_in.has_value());
  auto answer = conversations.find_message(ada, c.id, a.id);
  EXPECT_FALSE(answer->regenerated);
  EXPECT_FALSE(answer->continued);
  EXPECT_FALSE(answer->quality_score.has_value());
  EXPECT_EQ(answer->position, 1);
  EXPECT_FALSE(feedback.find(ada, a.id));
  EXPECT_FALSE(feedback.find(eve, a.id));
}

TEST_P(ConversationsTest, ListsNewestFirstAndFiltersForExport) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  Conversations conversations(db);
  Conversation one = conversations.create({.user_id = ada, .model = "a"});
  Conversation two = conversations.create({.user_id = ada, .model = "b"});
  Conversation three = conversations.create({.user_id = ada, .model = "a"});
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // a later updated_at for sure
  conversations.add_message(ada, one.id, {.role = "user", .content = "bump"});  // now newest

  auto listed = conversations.list(ada);
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].id, one.id);
  EXPECT_EQ(conversations.list(ada, 1, 1).size(), 1u);
  EXPECT_EQ(conversations.list(ada, 10, 3).size(), 0u);
  auto recent = conversations.recent(ada, "a", 10);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].id, one.id);

  auto all = conversations.all(ada);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, one.id);  // oldest first
  EXPECT_EQ(all[2].id, three.id);
  auto only_b = conversations.all(ada, "b");
  ASSERT_EQ(only_b.size(), 1u);
  EXPECT_EQ(only_b[0].id, two.id);
  EXPECT_EQ(conversations.all(ada, "", now() + std::chrono::hours(1)).size(), 0u);
  EXPECT_EQ(conversations.all(ada, "a", Timestamp{}).size(), 2u);

  conversations.set_training_opt_in(ada, two.id, true);
  EXPECT_EQ(conversations.find(ada, two.id)->training_opt_in, std::optional<bool>(true));
  conversations.set_training_opt_in(ada, two.id, std::nullopt);
  EXPECT_FALSE(conversations.find(ada, two.id)->training_opt_in.has_value());
}

TEST_P(ConversationsTest, SearchFindsTitlesAndMessagesOfTheCallerOnly) {
  std::int64_t ada = make_user("ada");
  std::int64_t bob = make_user("bob");
  Database db = open();
  Conversations conversations(db);
  Conversation soup = conversations.create({.user_id = ada, .model = "m", .title = "Tomato Soup"});
  Conversation code = conversations.create({.user_id = ada, .model = "m", .title = "code"});
  conversations.add_message(ada, code.id, {.role = "user", .content = "fix my parser"});
  conversations.add_message(ada, code.id, {.role = "assistant", .content = "Use 100% of the RECURSION_depth"});
  Conversation odd = conversations.create({.user_id = ada, .model = "m", .title = "odd"});
  conversations.add_message(ada, odd.id, {.role = "user", .content = "100 percent, a_b and back\\slash"});
  Conversation bobs = conversations.create({.user_id = bob, .model = "m", .title = "tomato for bob"});

  auto ids = [](const std::vector<Conversation>& cs) {
    std::vector<std::int64_t> out;
    for (const auto& c : cs) out.push_back(c.id);
    return out;
  };
  // Title, any case; bob's conversation with the same word is not ada's.
  EXPECT_EQ(ids(conversations.search(ada, "tomato")), std::vector<std::int64_t>{soup.id});
  EXPECT_EQ(ids(conversations.search(bob, "TOMATO")), std::vector<std::int64_t>{bobs.id});
  // A message's text, an answer's included.
  EXPECT_EQ(ids(conversations.search(ada, "recursion_DEPTH")), std::vector<std::int64_t>{code.id});
  EXPECT_EQ(ids(conversations.search(ada, "PARSER")), std::vector<std::int64_t>{code.id});
  // % and _ and \ match themselves, never as wildcards.
  EXPECT_EQ(ids(conversations.search(ada, "100%")), std::vector<std::int64_t>{code.id});
  EXPECT_EQ(ids(conversations.search(ada, "a_b")), std::vector<std::int64_t>{odd.id});
  EXPECT_EQ(ids(conversations.search(ada, "k\\s")), std::vector<std::int64_t>{odd.id});
  EXPECT_TRUE(conversations.search(ada, "%").size() == 1u);
  EXPECT_TRUE(conversations.search(ada, "_x").empty());
  EXPECT_TRUE(conversations.search(ada, "nowhere").empty());
  // Newest first, with limit and offset.
  auto both = conversations.search(ada, "o");
  ASSERT_EQ(both.size(), 3u);
  EXPECT_EQ(both[0].id, odd.id);
  EXPECT_EQ(conversations.search(ada, "o", 1, 2).size(), 1u);
}

TEST_P(ConversationsTest, RemoveTakesMessagesAndFeedbackAlong) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  Conversations conversations(db);
  FeedbackStore feedback(db);
  Conversation c = conversations.create({.user_id = ada, .model = "m"});
  conversations.add_message(ada, c.id, {.role = "user", .content = "q"});
  Message a = conversations.add_message(ada, c.id, {.role = "assistant", .content = "a"});
  feedback.upsert(ada, a.id, {.rating = 4});
  EXPECT_TRUE(conversations.remove(ada, c.id));
  EXPECT_FALSE(conversations.remove(ada, c.id));
  EXPECT_FALSE(conversations.find(ada, c.id));
  EXPECT_FALSE(conversations.find_message(ada, a.id));
  EXPECT_FALSE(feedback.find(ada, a.id));

  // Removing the user takes everything of theirs.
  Conversation d = conversations.create({.user_id = ada, .model = "m"});
  Message b = conversations.add_message(ada, d.id, {.role = "assistant", .content = "b"});
  feedback.upsert(ada, b.id, {.thumbs = 1});
  UserSettingsStore(db).set({.user_id = ada, .store_conversations = false});
  DatasetVersions(db).create({.user_id = ada, .content_hash = "abc"});
  EXPECT_TRUE(Users(db).remove(ada));
  EXPECT_FALSE(conversations.find(ada, d.id));
  EXPECT_TRUE(DatasetVersions(db).list(ada).empty());
  EXPECT_TRUE(UserSettingsStore(db).get(ada).store_conversations);  // defaults again
}

TEST_P(ConversationsTest, SettingsDefaultAndPersist) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  UserSettingsStore settings(db);
  UserSettings s = settings.get(ada);
  EXPECT_EQ(s.user_id, ada);
  EXPECT_TRUE(s.store_conversations);
  EXPECT_FALSE(s.training_opt_in);
  settings.set({.user_id = ada, .store_conversations = false, .training_opt_in = true});
  s = settings.get(ada);
  EXPECT_FALSE(s.store_conversations);
  EXPECT_TRUE(s.training_opt_in);
  settings.set({.user_id = ada, .store_conversations = true, .training_opt_in = false});
  EXPECT_TRUE(settings.get(ada).store_conversations);
  EXPECT_FALSE(settings.get(ada).training_opt_in);
  EXPECT_DB_ERROR(settings.set({.user_id = ada + 1000}), ErrorKind::not_found);
}

TEST_P(ConversationsTest, FeedbackIsOnePerMessageAndValidated) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  Conversations conversations(db);
  FeedbackStore feedback(db);
  Conversation c = conversations.create({.user_id = ada, .model = "m"});
  Message q = conversations.add_message(ada, c.id, {.role = "user", .content = "q"});
  Message a = conversations.add_message(ada, c.id, {.role = "assistant", .content = "a"});

  Feedback first = feedback.upsert(ada, a.id, {.thumbs = -1, .reason = "wrong"});
  EXPECT_EQ(first.thumbs, std::optional<int>(-1));
  EXPECT_FALSE(first.rating.has_value());
  EXPECT_EQ(first.reason, "wrong");
  Feedback second =
      feedback.upsert(ada, a.id, {.rating = 5, .comment = "fixed", .corrected_answer = "b"});
  EXPECT_EQ(second.id, first.id);  // replaced, not added
  EXPECT_FALSE(second.thumbs.has_value());
  EXPECT_EQ(second.rating, std::optional<int>(5));
  EXPECT_EQ(second.reason, "");
  EXPECT_EQ(second.comment, "fixed");
  EXPECT_EQ(second.corrected_answer, "b");
  EXPECT_EQ(second.created_at, first.created_at);
  EXPECT_GE(second.updated_at, first.updated_at);
  ASSERT_EQ(feedback.for_conversation(ada, c.id).size(), 1u);
  EXPECT_TRUE(feedback.for_conversation(ada, c.id + 1).empty());

  EXPECT_DB_ERROR(feedback.upsert(ada, a.id, {.thumbs = 2}), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(feedback.upsert(ada, a.id, {.rating = 0}), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(feedback.upsert(ada, a.id, {.rating = 6}), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(feedback.upsert(ada, a.id, {.comment = "only words"}), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(feedback.upsert(ada, q.id, {.thumbs = 1}),
                  ErrorKind::not_found);  // not an answer
  EXPECT_DB_ERROR(feedback.upsert(ada, a.id + 1000, {.thumbs = 1}), ErrorKind::not_found);
  EXPECT_EQ(feedback.find(ada, a.id)->rating, std::optional<int>(5));  // unchanged by the refusals
}

TEST_P(ConversationsTest, ConcurrentAppendsGetDistinctPositions) {
  std::int64_t ada = make_user("ada");
  Database db = open();
  Conversations conversations(db);
  Conversation c = conversations.create({.user_id = ada, .model = "m"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        conversations.add_message(ada, c.id, {.role = "user", .content = "x"});
    });
  }
  for (auto& t : threads) t.join();
  std::vector<int> expected(40);
  for (int i = 0; i < 40; ++i) expected[i] = i;
  EXPECT_EQ(positions(conversations.messages(ada, c.id)), expected);
  EXPECT_EQ(conversations.find(ada, c.id)->message_count, 40);
}

TEST_P(ConversationsTest, DatasetVersionsAreScoped) {
  std::int64_t ada = make_user("ada");
  std::int64_t eve = make_user("eve");
  Database db = open();
  DatasetVersions versions(db);
  DatasetVersion v = versions.create({.user_id = ada,
                                      .content_hash = "h1",
                                      .train_examples = 90,
                                      .validation_examples = 10,
                                      .filter = R"({"min_score": 0.7})",
                                      .train_path = "/t",
                                      .validation_path = "/v"});
  EXPECT_GT(v.id, 0);
  EXPECT_EQ(v.train_examples, 90);
  EXPECT_EQ(json_from(v.filter), json::value(json::object{{"min_score", 0.7}}));
  versions.create({.user_id = ada, .content_hash = "h2"});
  auto list = versions.list(ada);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].content_hash, "h2");
  EXPECT_FALSE(versions.find(eve, v.id));
  EXPECT_TRUE(versions.list(eve).empty());
  EXPECT_DB_ERROR(versions.create({.user_id = ada, .filter = "nope"}), ErrorKind::invalid_input);
  EXPECT_DB_ERROR(versions.create({.user_id = 99999, .content_hash = "x"}), ErrorKind::not_found);
}

}  // namespace
}  // namespace hearth::db
