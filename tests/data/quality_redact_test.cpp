// The quality formula (data.h) as a table, rescoring from stored feedback, and redaction.
#include <gtest/gtest.h>

#include "data/data.h"
#include "db/db_test_support.h"

namespace hearth::data {
namespace {

TEST(QualityScore, FollowsTheDocumentedFormula) {
  struct Row {
    QualityInputs in;
    double expected;
  };
  const Row rows[] = {
      {{}, 0.5},
      {{.continued = true}, 0.65},
      {{.regenerated = true}, 0.1},
      {{.regenerated = true, .continued = true}, 0.1},
      {{.thumbs = 1}, 0.9},
      {{.thumbs = -1}, 0.0},
      {{.thumbs = -1, .continued = true}, 0.0},
      {{.rating = 1}, 0.0},
      {{.rating = 2}, 0.25},
      {{.rating = 3}, 0.5},
      {{.rating = 4}, 0.75},
      {{.rating = 5}, 1.0},
      {{.thumbs = -1, .rating = 5}, 1.0},  // the rating decides alone
      {{.thumbs = 1, .rating = 1}, 0.0},
      {{.rating = 5, .regenerated = true}, 1.0},  // explicit beats implicit
      {{.corrected = true}, 0.95},
      {{.thumbs = -1, .rating = 1, .corrected = true, .regenerated = true}, 0.95},
  };
  for (const Row& r : rows) EXPECT_DOUBLE_EQ(quality_score(r.in), r.expected);
}

class RescoreTest : public db::test::BackendTest {};
HEARTH_DB_BACKENDS(RescoreTest);

TEST_P(RescoreTest, StoresTheScoreFromFeedbackAndSignals) {
  std::int64_t ada = make_user("ada");
  std::int64_t eve = make_user("eve");
  db::Database db = open();
  db::Conversations conversations(db);
  auto c = conversations.create({.user_id = ada, .model = "m"});
  auto q = conversations.add_message(ada, c.id, {.role = "user", .content = "q"});
  auto a = conversations.add_message(ada, c.id, {.role = "assistant", .content = "a"});
  EXPECT_DOUBLE_EQ(rescore_message(db, ada, a.id), 0.5);
  conversations.mark_regenerated(ada, a.id);
  EXPECT_DOUBLE_EQ(rescore_message(db, ada, a.id), 0.1);
  db::FeedbackStore(db).upsert(ada, a.id, {.rating = 4});
  EXPECT_DOUBLE_EQ(rescore_message(db, ada, a.id), 0.75);
  EXPECT_DOUBLE_EQ(*conversations.find_message(ada, a.id)->quality_score, 0.75);
  db::FeedbackStore(db).upsert(ada, a.id, {.thumbs = -1, .corrected_answer = "better"});
  EXPECT_DOUBLE_EQ(rescore_message(db, ada, a.id), 0.95);

  try {
    rescore_message(db, eve, a.id);
    ADD_FAILURE() << "another user's message was rescored";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
  EXPECT_DOUBLE_EQ(*conversations.find_message(ada, a.id)->quality_score, 0.95);
  EXPECT_THROW(rescore_message(db, ada, q.id), Error);  // questions have no score
}

TEST(Redact, ReplacesEmailsPhonesAndSecrets) {
  struct Row {
    const char* in;
    const char* out;
  };
  const Row rows[] = {
      {"write to ada.lovelace+ml@example.co.uk today", "write to [EMAIL] today"},
      {"call (555) 123-4567 or 555-123-4567", "call [PHONE] or [PHONE]"},
      {"US: +1 555 123 4567.", "US: [PHONE]."},
      {"London +44 20 7946 0958, Paris +33 1 23 45 67 89", "London [PHONE], Paris [PHONE]"},
      {"key sk-proj-AbCdEfGhIjKlMnOpQrStUv123", "key [SECRET]"},
      {"use hearth_0123456789abcdefghijABCDEFGHIJ_-xyz", "use [SECRET]"},
      {"gh: ghp_0123456789abcdefghijABCDEFGHIJ", "gh: [SECRET]"},
      {"aws AKIAIOSFODNN7EXAMPLE here", "aws [SECRET] here"},
      {"api_key=9f86d081884c7d659a2feaa0c55ad015", "api_key=[SECRET]"},
      {R"({"access_token": "dGhpcyBpcyBhIHRva2VuIDEyMw=="})", R"({"access_token": "[SECRET]"})"},
      {"my password is hunter22", "my password is [SECRET]"},
      {"password: s3cr3t!", "password: [SECRET]"},
      {"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nok",
       "[SECRET]\nok"},
      {"-----BEGIN PRIVATE KEY-----\nMIIEvQ truncated", "[SECRET]"},
      // Left alone: plain numbers, dates, versions, short words after "key".
      {"order 12345678 on 2024-05-01, version 1.2.3",
       "order 12345678 on 2024-05-01, version 1.2.3"},
      {"the key point is simple", "the key point is simple"},
      {"a monkey abcdefghijklmnopqrst", "a monkey abcdefghijklmnopqrst"},
  };
  for (const Row& r : rows) EXPECT_EQ(redact_pii(r.in), r.out) << r.in;
  EXPECT_EQ(redact_pii(""), "");
  std::string invalid_utf8 = "\xff\xfe mail x@y.io";
  EXPECT_EQ(redact_pii(invalid_utf8), "\xff\xfe mail [EMAIL]");
}

}  // namespace
}  // namespace hearth::data
