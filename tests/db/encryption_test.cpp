// Encryption at rest below the server: sealed text and files (a wrong key, a changed byte, a cut
// file are clear errors, never garbage), key files that must be private, and on both backends:
// what users wrote is stored sealed and read back plain, another key or passphrase is refused,
// rotation re-wraps the keys, and plaintext from an older hearth is sealed in place.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "crypto/crypto.h"
#include "crypto/keyring.h"
#include "crypto/sealed_file.h"
#include "db/conversations.h"
#include "db/internal.h"
#include "db_test_support.h"

namespace hearth::db {
namespace {

namespace fs = std::filesystem;
using hearth::test::expect_error;

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void spit(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

TEST(SealedText, OpensOnlyWithItsKeyItsPlaceAndUnchanged) {
  const crypto::Key key = crypto::random_key(), other = crypto::random_key();
  const std::string stored = crypto::seal_text(key, "hello, sealed world", "messages.content");
  EXPECT_TRUE(crypto::is_sealed_text(stored));
  EXPECT_EQ(stored.find("hello"), std::string::npos);
  EXPECT_EQ(crypto::open_text(key, stored, "messages.content"), "hello, sealed world");
  EXPECT_NE(crypto::seal_text(key, "same", "x"), crypto::seal_text(key, "same", "x"));  // nonces
  expect_error([&] { crypto::open_text(other, stored, "messages.content"); }, ErrorKind::corrupt_file,
               {"messages.content", "key is wrong or the stored data was changed"});
  expect_error([&] { crypto::open_text(key, stored, "feedback.comment"); }, ErrorKind::corrupt_file,
               {"feedback.comment"});
  std::string changed = stored;
  changed[10] = changed[10] == 'A' ? 'B' : 'A';
  expect_error([&] { crypto::open_text(key, changed, "messages.content"); }, ErrorKind::corrupt_file,
               {"does not open"});
  expect_error([&] { crypto::open_text(key, "plain text", "messages.content"); },
               ErrorKind::corrupt_file, {"not encrypted"});
}

TEST(SealedFile, RoundTripsAcrossChunksAndRefusesDamage) {
  hearth::test::TempDir dir;
  const crypto::DataKey key{crypto::random_key_id(), crypto::random_key()};
  crypto::remember_key(key);
  std::string contents;
  for (int i = 0; contents.size() < 200'000; ++i) contents += "line " + std::to_string(i) + "\n";
  const fs::path file = dir.path() / "data.jsonl";
  crypto::write_sealed_file(file, contents, key);
  EXPECT_TRUE(crypto::is_sealed_file(file));
  EXPECT_EQ(slurp(file).find("line 1234"), std::string::npos);
  EXPECT_EQ(crypto::read_file(file), contents);
  // Nothing left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  const std::string sealed = slurp(file);
  spit(file, sealed.substr(0, sealed.size() - 10));
  expect_error([&] { crypto::read_file(file); }, ErrorKind::corrupt_file, {"cut short"});
  std::string flipped = sealed;
  flipped[sealed.size() / 2] ^= 1;
  spit(file, flipped);
  expect_error([&] { crypto::read_file(file); }, ErrorKind::corrupt_file, {"does not open"});
  spit(file, sealed + "x");
  expect_error([&] { crypto::read_file(file); }, ErrorKind::corrupt_file, {"after its end"});
  // A whole chunk dropped: the stream's order and end are part of what is checked.
  spit(file, sealed.substr(0, 48) + sealed.substr(48 + 4 + 65536 + 17));
  expect_error([&] { crypto::read_file(file); }, ErrorKind::corrupt_file, {});
  // Another installation's file: its key is unknown here.
  const crypto::DataKey stranger{crypto::random_key_id(), crypto::random_key()};
  crypto::write_sealed_file(file, "x", stranger);
  expect_error([&] { crypto::read_file(file); }, ErrorKind::unavailable, {"key"});
  // Plain files pass through; a plain copy is what exports hand out.
  spit(file, "plain\n");
  EXPECT_EQ(crypto::read_file(file), "plain\n");
  EXPECT_TRUE(crypto::seal_file_in_place(file, key));
  EXPECT_FALSE(crypto::seal_file_in_place(file, key));
  crypto::write_plain_copy(file, dir.path() / "copy.jsonl");
  EXPECT_EQ(slurp(dir.path() / "copy.jsonl"), "plain\n");
}

TEST(KeyFile, MustBePrivateAndWhole) {
  hearth::test::TempDir dir;
  const fs::path file = dir.path() / "secrets" / "master.key";
  const crypto::Key key = crypto::random_key();
  crypto::write_key_file(file, key);
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::memcmp(crypto::read_key_file(file).data(), key.data(), key.size()), 0);
  expect_error([&] { crypto::write_key_file(file, crypto::random_key()); }, ErrorKind::conflict,
               {"already exists"});
  ::chmod(file.c_str(), 0644);
  expect_error([&] { crypto::read_key_file(file); }, ErrorKind::unavailable, {"0644", "chmod 600"});
  ::chmod(file.c_str(), 0600);
  spit(file, "short");
  expect_error([&] { crypto::read_key_file(file); }, ErrorKind::unavailable, {"32 bytes"});
}

class EncryptionTest : public test::BackendTest {
 protected:
  // Each test its own master key file (the shared test key is left alone).
  void SetUp() override {
    keys_ = std::make_unique<hearth::test::TempDir>();
    key_env_ = std::make_unique<ScopedEnv>("HEARTH_KEY_FILE", key_file().string());
    test::BackendTest::SetUp();
  }
  void TearDown() override {
    test::BackendTest::TearDown();
    key_env_.reset();
  }
  fs::path key_file() const { return keys_->path() / "master.key"; }

  std::string raw_text(const Database& db, const std::string& query) {
    return detail::with_session(*db.impl(), "test read", [&](soci::session& sql) {
      std::string v;
      sql << query, soci::into(v);
      return v;
    });
  }

  std::unique_ptr<hearth::test::TempDir> keys_;
  std::unique_ptr<ScopedEnv> key_env_;
};
HEARTH_DB_BACKENDS(EncryptionTest);

TEST_P(EncryptionTest, WhatUsersWroteIsStoredSealedAndReadBackPlain) {
  const std::int64_t ada = make_user("ada"), bob = make_user("bob");
  Database db = open();
  Conversations conversations(db);
  const Conversation c = conversations.create({.user_id = ada, .model = "m"});
  conversations.add_message(ada, c.id, {.role = "user", .content = "The Secret Garden?"});
  const Message answer = conversations.add_message(ada, c.id, {.role = "assistant", .content = "Yes."});
  FeedbackStore(db).upsert(ada, answer.id,
                           {.thumbs = -1, .reason = "wrong", .comment = "too short",
                            .corrected_answer = "A novel by Frances Hodgson Burnett."});
  const std::string id = std::to_string(c.id);
  EXPECT_TRUE(crypto::is_sealed_text(raw_text(db, "SELECT title FROM conversations WHERE id = " + id)));
  EXPECT_TRUE(crypto::is_sealed_text(raw_text(
      db, "SELECT content FROM messages WHERE id = " + std::to_string(answer.id))));
  EXPECT_TRUE(crypto::is_sealed_text(raw_text(db, "SELECT corrected_answer FROM feedback")));
  EXPECT_TRUE(crypto::is_sealed_text(raw_text(db, "SELECT comment FROM feedback")));

  Database again = open();  // a fresh handle: the keys come from the database and key file
  EXPECT_EQ(Conversations(again).find(ada, c.id)->title, "The Secret Garden?");
  EXPECT_EQ(Conversations(again).messages(ada, c.id).at(1).content, "Yes.");
  EXPECT_EQ(FeedbackStore(again).find(ada, answer.id)->corrected_answer,
            "A novel by Frances Hodgson Burnett.");
  // Search opens the user's own conversations in memory.
  EXPECT_EQ(Conversations(again).search(ada, "secret garden").size(), 1u);
  EXPECT_EQ(Conversations(again).search(ada, "burnett").size(), 0u);  // feedback is not searched
  EXPECT_EQ(Conversations(again).search(ada, "YES.").size(), 1u);
  EXPECT_TRUE(Conversations(again).search(bob, "secret").empty());
  // Users' keys differ: a value moved into another user's row does not open.
  const Conversation theirs = Conversations(again).create({.user_id = bob, .model = "m"});
  test::raw_sql(again, "UPDATE conversations SET title = (SELECT title FROM conversations WHERE id = " +
                           id + ") WHERE id = " + std::to_string(theirs.id));
  EXPECT_DB_ERROR(Conversations(again).find(bob, theirs.id), ErrorKind::corrupt_file);
}

TEST_P(EncryptionTest, AnotherKeyOrAMissingOneIsRefusedClearly) {
  const std::int64_t ada = make_user("ada");
  {
    Database db = open();
    Conversations(db).create({.user_id = ada, .model = "m", .title = "mine"});
  }
  hearth::test::TempDir elsewhere;
  {
    ScopedEnv other("HEARTH_KEY_FILE", (elsewhere.path() / "other.key").string());
    crypto::write_key_file(elsewhere.path() / "other.key", crypto::random_key());
    expect_error([&] { open(); }, ErrorKind::unauthorized, {"does not unlock"});
  }
  {
    ScopedEnv missing("HEARTH_KEY_FILE", (elsewhere.path() / "gone.key").string());
    expect_error([&] { open(); }, ErrorKind::unavailable, {"is missing", "gone.key"});
  }
  EXPECT_EQ(Encryption(open()).status().key_kind, "file");
}

TEST_P(EncryptionTest, RotationRewrapsTheKeysAndTheOldKeyNoLongerOpens) {
  const std::int64_t ada = make_user("ada");
  std::int64_t id = 0;
  {
    Database db = open();
    id = Conversations(db).create({.user_id = ada, .model = "m", .title = "before"}).id;
    Encryption(db).rotate();
    // The same handle goes on (the data keys did not change).
    EXPECT_EQ(Conversations(db).find(ada, id)->title, "before");
    Conversations(db).create({.user_id = make_user("cy"), .model = "m", .title = "after"});
  }
  EXPECT_TRUE(fs::exists(key_file().string() + ".old"));
  EXPECT_FALSE(fs::exists(key_file().string() + ".new"));
  Database db = open();
  EXPECT_EQ(Conversations(db).find(ada, id)->title, "before");
  EXPECT_TRUE(Encryption(db).status().rotated_at.has_value());
  {
    ScopedEnv old("HEARTH_KEY_FILE", key_file().string() + ".old");
    expect_error([&] { open(); }, ErrorKind::unauthorized, {"does not unlock"});
  }
}

TEST_P(EncryptionTest, APassphraseDatabaseNeedsThePassphrase) {
  const std::int64_t ada = make_user("ada");
  {
    Database db = open();
    Conversations(db).create({.user_id = ada, .model = "m", .title = "kept"});
    Encryption(db).rotate("correct horse battery staple");
    EXPECT_EQ(Encryption(db).status().key_kind, "argon2id");
  }
  expect_error([&] { open(); }, ErrorKind::unauthorized, {"HEARTH_PASSPHRASE"});
  {
    ScopedEnv wrong("HEARTH_PASSPHRASE", "incorrect horse");
    expect_error([&] { open(); }, ErrorKind::unauthorized, {"passphrase does not unlock"});
  }
  ScopedEnv right("HEARTH_PASSPHRASE", "correct horse battery staple");
  Database db = open();
  EXPECT_EQ(Conversations(db).list(ada).at(0).title, "kept");
}

TEST_P(EncryptionTest, PlaintextFromAnOlderHearthIsSealedInPlaceAndLeavesNoTrace) {
  const std::string marker = "older-plaintext-7f3a9c";
  {
    Database old = Database::open(url(), {.migrate_to = 10});
    test::raw_sql(old, "INSERT INTO users (username, created_at) VALUES ('ada', '2026-01-01T00:00:00.000Z')");
    test::raw_sql(old, "INSERT INTO conversations (user_id, title, created_at, updated_at) SELECT id, '" +
                           marker + " title', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z' FROM users");
    test::raw_sql(old, "INSERT INTO messages (conversation_id, position, role, content, created_at) "
                       "SELECT id, 0, 'user', '" + marker + " content', '2026-01-01T00:00:00.000Z' FROM conversations");
  }
  Database db = open();
  EXPECT_TRUE(crypto::is_sealed_text(raw_text(db, "SELECT content FROM messages")));
  EXPECT_TRUE(crypto::is_sealed_text(raw_text(db, "SELECT title FROM conversations")));
  const std::int64_t ada = Users(db).find_by_name("ada")->id;
  const auto list = Conversations(db).list(ada);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].title, marker + " title");
  if (GetParam() == Backend::sqlite) {
    const fs::path file = fs::path(url().substr(std::string("sqlite://").size()));
    for (const fs::path& p : {file, fs::path(file.string() + "-wal")})
      if (fs::exists(p)) {
        EXPECT_EQ(slurp(p).find(marker), std::string::npos) << p;
      }
  }
}

}  // namespace
}  // namespace hearth::db
