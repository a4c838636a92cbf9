// Conversations::store_request on both backends: a chat request's side (a new or existing
// conversation, its new messages, the continued / regenerated marks) is stored whole or not at
// all.
#include "db/conversations.h"
#include "db_test_support.h"

namespace hearth::db {
namespace {

using test::BackendTest;

class StoreRequestTest : public BackendTest {};
HEARTH_DB_BACKENDS(StoreRequestTest);

TEST_P(StoreRequestTest, StoresANewConversationAndGoesOnFromItsAnswer) {
  const std::int64_t ada = make_user("ada");
  Database db = open();
  Conversations conversations(db);
  const StoredRequest first =
      conversations.store_request(ada, {.fresh = {.model = "m", .source = "openai", .title = "Hi"},
                                        .messages = {{.role = "system", .content = "Be brief."},
                                                     {.role = "user", .content = "Hi"}}});
  ASSERT_GT(first.conversation_id, 0);
  const auto c = conversations.find(ada, first.conversation_id);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user_id, ada);
  EXPECT_EQ(c->title, "Hi");
  auto branch = conversations.messages(ada, first.conversation_id);
  ASSERT_EQ(branch.size(), 2u);
  EXPECT_EQ(branch[0].role, "system");
  EXPECT_EQ(branch[1].content, "Hi");
  EXPECT_EQ(branch[1].position, 1);
  ASSERT_TRUE(first.leaf);
  EXPECT_EQ(*first.leaf, branch[1].id);

  const Message answer = conversations.add_message(
      ada, first.conversation_id,
      {.parent_id = first.leaf, .role = "assistant", .content = "Hello."});
  const StoredRequest next =
      conversations.store_request(ada, {.conversation_id = first.conversation_id,
                                        .anchor = answer.id,
                                        .messages = {{.role = "user", .content = "And then?"}},
                                        .continued_id = answer.id});
  EXPECT_EQ(next.conversation_id, first.conversation_id);
  branch = conversations.messages(ada, first.conversation_id);
  ASSERT_EQ(branch.size(), 4u);
  EXPECT_EQ(branch[3].content, "And then?");
  EXPECT_EQ(branch[3].parent_id, answer.id);
  EXPECT_TRUE(branch[2].continued);
  EXPECT_FALSE(branch[2].regenerated);

  // Nothing new: only the mark (a regeneration of that answer).
  const StoredRequest again =
      conversations.store_request(ada, {.conversation_id = first.conversation_id,
                                        .anchor = first.leaf,
                                        .regenerated_id = answer.id});
  EXPECT_EQ(again.leaf, first.leaf);
  EXPECT_TRUE(conversations.find_message(ada, answer.id)->regenerated);
}

TEST_P(StoreRequestTest, AFailureLeavesNothingBehind) {
  const std::int64_t ada = make_user("ada");
  const std::int64_t bob = make_user("bob");
  Database db = open();
  Conversations conversations(db);
  const Conversation bobs = conversations.create({.user_id = bob, .model = "m"});
  const Message bobs_answer =
      conversations.add_message(bob, bobs.id, {.role = "assistant", .content = "Bob's."});

  // A new conversation whose mark names another user's answer: no conversation, no messages.
  EXPECT_DB_ERROR(conversations.store_request(ada, {.fresh = {.model = "m"},
                                                    .messages = {{.role = "user", .content = "Hi"}},
                                                    .continued_id = bobs_answer.id}),
                  ErrorKind::not_found);
  EXPECT_TRUE(conversations.list(ada).empty());

  // In an existing conversation: the messages before the failing one are not kept either.
  const StoredRequest kept = conversations.store_request(
      ada, {.fresh = {.model = "m"}, .messages = {{.role = "user", .content = "Hi"}}});
  EXPECT_DB_ERROR(
      conversations.store_request(ada, {.conversation_id = kept.conversation_id,
                                        .anchor = kept.leaf,
                                        .messages = {{.role = "user", .content = "more"},
                                                     {.role = "robot", .content = "refused"}}}),
      ErrorKind::invalid_input);
  EXPECT_DB_ERROR(
      conversations.store_request(ada, {.conversation_id = kept.conversation_id,
                                        .anchor = kept.leaf,
                                        .messages = {{.role = "user", .content = "more"}},
                                        .regenerated_id = bobs_answer.id}),
      ErrorKind::not_found);
  EXPECT_EQ(conversations.every_message(ada, kept.conversation_id).size(), 1u);
  EXPECT_EQ(conversations.find(ada, kept.conversation_id)->message_count, 1);
  EXPECT_FALSE(conversations.find_message(bob, bobs_answer.id)->regenerated);
}

}  // namespace
}  // namespace hearth::db
