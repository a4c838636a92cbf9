// `hearth backup` and `hearth restore` through the real binary, on SQLite and on PostgreSQL: a
// round trip that compares every table the catalog lists (all rows) and every file; a backup
// taken while a writer writes; damaged and truncated backups refused before the target changes;
// the master key only with --include-key; no restore under a running server.
#include <gtest/gtest.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/soci.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "core/sha256.h"
#include "db/conversations.h"
#include "db/db_test_support.h"
#include "db/internal.h"
#include "db/remote_engines.h"
#include "db/snapshot.h"
#include "db/training.h"
#include "server/server_process.h"
#include "support/test_support.h"

namespace hearth {
namespace {
namespace fs = std::filesystem;
using db::Backend;
using test::contains;
using test::run_hearth;

// A database for one side of a round trip: a file in the home (SQLite) or a fresh database of
// its own on the test server (PostgreSQL: restore needs a whole, empty database).
class TargetDb {
 public:
  TargetDb(Backend backend, const fs::path& home) : backend_(backend) {
    if (backend == Backend::sqlite) return;  // HEARTH_DB stays empty: HEARTH_HOME/hearth.db
    const std::string base = *db::test::postgres_url();
    const std::size_t slash = base.find('/', base.find("://") + 3);
    name_ = "hearth_bk" + std::to_string(::getpid()) + "_" + std::to_string(counter()++);
    url_ = base.substr(0, slash + 1) + name_;
    const std::size_t at = base.find('@');
    admin_ = base.substr(0, base.find("://") + 3) + "postgres" + base.substr(at, slash - at) + "/postgres";
    try {
      soci::session admin(*soci::factory_postgresql(), db::detail::postgres_connect_string(admin_, "admin"));
      admin << "CREATE DATABASE " + name_;
      const std::string user = base.substr(base.find("://") + 3, at - base.find("://") - 3);
      admin << "ALTER DATABASE " + name_ + " OWNER TO \"" + user.substr(0, user.find(':')) + "\"";
    } catch (const std::exception& e) {
      skip_reason_ = std::string("cannot create a database as postgres on the test server: ") + e.what();
      name_.clear();
    }
    (void)home;
  }
  ~TargetDb() {
    if (name_.empty()) return;
    try {
      soci::session admin(*soci::factory_postgresql(), db::detail::postgres_connect_string(admin_, "admin"));
      admin << "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)";
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not drop " << name_ << ": " << e.what();
    }
  }
  const std::string& url() const { return url_; }  // "" for SQLite
  const std::string& skip_reason() const { return skip_reason_; }
  db::Database open(const fs::path& home) const {
    return db::Database::open(backend_ == Backend::sqlite ? "sqlite://" + (home / "hearth.db").string() : url_);
  }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  Backend backend_;
  std::string name_, url_, admin_, skip_reason_;
};

test::Env env_for(const fs::path& home, const TargetDb& db) {
  return {{"HEARTH_HOME", home.string()}, {"HEARTH_DB", db.url()}, {"HEARTH_LOG", "warn"}};
}

void write(const fs::path& file, const std::string& text, fs::perms mode = fs::perms::owner_read | fs::perms::owner_write) {
  fs::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << text;
  fs::permissions(file, mode);
}

// One row of every kind, through the db layer (as the server and the CLI write them).
void fill_every_table(const db::Database& d, const fs::path& home) {
  const auto ada = db::Users(d).create("ada", "ada@example.com", "$argon2id$test");
  const auto bob = db::Users(d).create("bob", "bob@example.com", "$argon2id$test");
  db::ApiTokens(d).create(ada.id, "laptop");
  db::AuditLog(d).record(ada.id, "user.add", "ada", R"({"via":"cli"})");
  db::ModelUsage(d).record(ada.id, "tiny:latest", 10, 20, 3000);
  db::UserSettingsStore(d).set({ada.id, true, true, "local-only"});
  db::Conversations chats(d);
  const auto chat = chats.create({ada.id, "tiny:latest", "openai", "backup marker", R"({"temperature":0.5})"});
  chats.add_message(ada.id, chat.id, {.role = "user", .content = "what is the backup marker?"});
  const auto answer = chats.add_message(
      ada.id, chat.id, {.role = "assistant", .content = "it is 'quartz'", .model = "tiny:latest", .completion_tokens = 4});
  db::FeedbackStore(d).upsert(ada.id, answer.id, {.thumbs = 1, .comment = "right", .corrected_answer = "quartz!"});
  const auto dataset = db::DatasetVersions(d).create(
      {.user_id = ada.id, .content_hash = "abc", .train_examples = 1, .filter = "{}",
       .train_path = (home / "datasets/1/train.jsonl").string()});
  const auto model = db::PersonalModels(d).add({.user_id = ada.id, .model_id = "tiny", .custom_name = "mine"});
  db::TrainingJobs jobs(d);
  const auto job = jobs.create({.user_id = ada.id, .model_id = model.id, .training_data_size = 1,
                                .dataset_version_id = dataset.id, .base_model = "tiny:latest"});
  jobs.start(job.id);
  db::JobEvents(d).add(job.id, "info", "step 1", R"({"loss":1.5})");
  jobs.finish(job.id, R"({"loss":1.2})");
  db::ModelVersions(d).deploy({.personal_model_id = model.id, .user_id = ada.id, .job_id = job.id,
                               .adapter_digest = "sha256:00", .base_model = "tiny:latest"});
  db::TrainingSchedules(d).put(ada.id, model.id, true, "sunday 02:00-06:00", "UTC");
  db::UploadedFiles(d).add({.user_id = ada.id, .filename = "data.jsonl", .purpose = "fine-tune", .bytes = 3,
                            .path = (home / "uploads/1/file-1").string(), .sha256 = "x"});
  db::RemoteTrainers(d).put(bob.id, "https://api.example.com/v1", "c2VhbGVk");
  db::RemoteEngineRows(d).add({.name = "vllm", .base_url = "http://10.0.0.5:8000/v1", .models = {"a"}});
  db::DesktopConnections(d).upsert({.user_id = bob.id, .connection_id = "desk-1", .app_version = "1.0", .os_info = "linux"});
}

// Every table the catalog lists, each as its rows in one text form, sorted.
std::map<std::string, std::vector<std::string>> every_table(const db::Database& d) {
  return db::detail::with_session(*d.impl(), "test dump", [&](soci::session& sql) {
    std::map<std::string, std::vector<std::string>> out;
    const bool pg = d.backend() == Backend::postgresql;
    std::vector<std::string> tables;
    soci::rowset<std::string> names = (sql.prepare << (pg ? "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                                                          : "SELECT name FROM sqlite_master WHERE type = 'table'"));
    for (const auto& t : names) tables.push_back(t);
    for (const auto& t : tables) {
      std::string select = "SELECT t::text FROM \"" + t + "\" AS t ORDER BY 1";
      if (!pg) {
        std::string row;
        soci::rowset<std::string> columns = (sql.prepare << "SELECT name FROM pragma_table_info('" + t + "') ORDER BY cid");
        for (const auto& c : columns) row += (row.empty() ? "" : " || '|' || ") + ("quote(\"" + c + "\")");
        select = "SELECT " + row + " FROM \"" + t + "\" ORDER BY 1";
      }
      auto& rows = out[t];
      soci::rowset<std::string> values = (sql.prepare << select);
      for (const auto& v : values) rows.push_back(v);
    }
    return out;
  });
}

// Every file under `home` (relative path → its SHA-256), minus the names in `except`.
std::map<std::string, std::string> every_file(const fs::path& home, const std::vector<std::string>& except) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(home)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = e.path().lexically_relative(home).generic_string();
    bool skip = false;
    for (const auto& x : except) skip |= rel == x || rel.starts_with(x + "/");
    if (!skip) out[rel] = sha256_file_hex(e.path());
  }
  return out;
}

std::string blob_name(const std::string& content) { return "sha256-" + sha256_hex(content); }

// User files of every kind, an adapter, a base model (left out by default), a partial
// download and the master key.
void fill_home(const fs::path& home) {
  write(home / "datasets/1/train.jsonl", R"({"messages":[{"role":"user","content":"quartz"}]})" "\n");
  write(home / "jobs/1/checkpoint.bin", std::string(3000, '\x07'));
  write(home / "jobs/1/log.txt", "step 1 loss 1.5\n");
  write(home / "uploads/1/file-1", "abc");
  // Paths past the tar header's 100 bytes: split at a '/', and one name too long for that.
  write(home / "jobs/1" / std::string(70, 'd') / std::string(60, 'f'), "deep");
  write(home / "jobs/1" / (std::string(120, 'n') + ".log"), "long");
  const std::string base = "GGUF base weights", adapter = "GGUF adapter";
  write(home / "blobs" / blob_name(base), base);
  write(home / "blobs" / blob_name(adapter), adapter);
  write(home / "blobs" / (blob_name("x") + "-partial"), "half");
  write(home / "blob-stamps" / blob_name(adapter), "{}");
  write(home / "blob-stamps" / blob_name(base), "{}");
  const auto manifest = [](const std::string& name, const std::string& content, const char* type,
                           const char* lineage) {
    return std::string(R"({"schema":1,"name":")") + name + R"(","tag":"latest","blobs":[{"digest":"sha256:)" +
           sha256_hex(content) + R"(","size":)" + std::to_string(content.size()) + R"(,"media_type":")" + type +
           R"("}],"parameters":{},"template":"","source":"https://example.com/)" + name +
           R"(.gguf","lineage":{"base_model":")" + lineage + R"("},"created_at":"2026-01-01T00:00:00Z"})";
  };
  write(home / "manifests/tiny/latest", manifest("tiny", base, "model", ""));
  write(home / "users/1/manifests/mine/latest", manifest("mine", adapter, "adapter", "tiny:latest"));
  write(home / "secrets/master.key", std::string(32, 'k'));
}

class BackupTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::postgresql && !db::test::postgres_url())
      GTEST_SKIP() << "HEARTH_TEST_POSTGRES_URL is not set (make test starts a server)";
  }
  test::TempDir dir_;
  fs::path home(const std::string& name) const { return dir_.path() / name; }
};

TEST_P(BackupTest, RoundTripKeepsEveryTableAndEveryFile) {
  const fs::path from = home("from"), to = home("to");
  TargetDb source(GetParam(), from), target(GetParam(), to);
  if (!source.skip_reason().empty()) GTEST_SKIP() << source.skip_reason();
  fill_home(from);
  std::map<std::string, std::vector<std::string>> before;
  {
    const db::Database d = source.open(from);
    fill_every_table(d, from);
    before = every_table(d);
  }
  EXPECT_GE(before.size(), 18u);  // the catalog was read
  for (const auto& [table, rows] : before) EXPECT_FALSE(rows.empty()) << "the test left table " << table << " empty";

  const fs::path out = dir_.path() / "hearth.tar";
  const auto made = run_hearth({"backup", out.string()}, env_for(from, source));
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  EXPECT_TRUE(contains(made.out, "NOT in this backup")) << made.out;
  EXPECT_TRUE(contains(made.out, "tiny:latest")) << made.out;  // the base model left out

  // A truncated copy first: refused, and the target stays empty.
  const fs::path cut = dir_.path() / "cut.tar";
  std::ofstream(cut, std::ios::binary) << test::read_file(out).substr(0, fs::file_size(out) * 2 / 3);
  const auto refused = run_hearth({"restore", cut.string()}, env_for(to, target));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.err, "truncated")) << refused.err;
  EXPECT_EQ(every_file(to, {"serve.lock"}).size(), 0u);
  if (GetParam() == Backend::postgresql) {
    EXPECT_EQ(db::snapshot::postgres_table_count(target.url()), 0);
  }

  const auto back = run_hearth({"restore", out.string()}, env_for(to, target));
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_TRUE(contains(back.out, "pull them again")) << back.out;
  // Once more into the now full target: refused (a PostgreSQL database must be empty even
  // with --force).
  const auto again = run_hearth({"restore", out.string()}, env_for(to, target));
  EXPECT_NE(again.exit_code, 0);
  EXPECT_TRUE(contains(again.err, "not empty")) << again.err;
  if (GetParam() == Backend::postgresql) {
    const auto forced = run_hearth({"restore", "--force", out.string()}, env_for(to, target));
    EXPECT_NE(forced.exit_code, 0);
    EXPECT_TRUE(contains(forced.err, "empty database")) << forced.err;
  }
  {
    const db::Database d = target.open(to);
    EXPECT_EQ(every_table(d), before);
    // Sequences came along: a new row gets a fresh id.
    EXPECT_NO_THROW(db::Users(d).create("cy", "", "$argon2id$test"));
  }
  // Every user file came back; the base weights, their stamp, the partial download and the key
  // did not.
  const std::string base_blob = blob_name("GGUF base weights");
  auto expected = every_file(from, {"hearth.db", "hearth.db-wal", "hearth.db-shm", "serve.lock", "secrets",
                                    "blobs/" + base_blob, "blob-stamps/" + base_blob,
                                    "blobs/" + blob_name("x") + "-partial"});
  EXPECT_EQ(every_file(to, {"hearth.db", "hearth.db-wal", "hearth.db-shm", "serve.lock"}), expected);
  EXPECT_TRUE(expected.contains("users/1/manifests/mine/latest"));
  EXPECT_FALSE(fs::exists(to / "secrets"));
}

TEST_P(BackupTest, ConsistentWhileAWriterWrites) {
  const fs::path from = home("from"), to = home("to");
  TargetDb source(GetParam(), from), target(GetParam(), to);
  if (!source.skip_reason().empty()) GTEST_SKIP() << source.skip_reason();
  const db::Database d = source.open(from);
  const auto user = db::Users(d).create("ada", "", "$argon2id$test");
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  // Each request is one transaction: a conversation and its two messages, or nothing.
  std::thread writer([&] {
    db::Conversations chats(d);
    while (!stop) {
      db::RequestSide side{.fresh = {user.id, "tiny:latest", "openai", "t", "{}"},
                           .messages = {{.role = "user", .content = "q"}, {.role = "assistant", .content = "a"}}};
      chats.store_request(user.id, side);
      ++written;
    }
  });
  while (written < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const fs::path out = dir_.path() / "live.tar";
  const auto made = run_hearth({"backup", out.string()}, env_for(from, source));
  const int during = written;
  stop = true;
  writer.join();
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  const auto back = run_hearth({"restore", out.string()}, env_for(to, target));
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  if (GetParam() == Backend::sqlite) {
    EXPECT_EQ(db::snapshot::sqlite_integrity(to / "hearth.db"), "ok");
  }
  const db::Database r = target.open(to);
  db::detail::with_session(*r.impl(), "check", [&](soci::session& sql) {
    long long conversations = 0, torn = 0;
    sql << "SELECT count(*) FROM conversations", soci::into(conversations);
    sql << "SELECT count(*) FROM conversations c WHERE message_count <> "
           "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) OR message_count <> 2",
        soci::into(torn);
    EXPECT_GE(conversations, 20);
    EXPECT_LE(conversations, during + 1);
    EXPECT_EQ(torn, 0) << "a conversation was copied without all its messages";
  });
}

HEARTH_DB_BACKENDS(BackupTest);

// Damage of every kind, on SQLite (the round trip above refuses a truncated backup on both).
TEST(BackupDamageTest, DamagedOrTruncatedBackupChangesNothing) {
  test::TempDir dir;
  const fs::path from = dir.path() / "from", to = dir.path() / "to";
  TargetDb source(Backend::sqlite, from), target(Backend::sqlite, to);
  fill_home(from);
  { fill_every_table(source.open(from), from); }
  const fs::path out = dir.path() / "good.tar";
  ASSERT_EQ(run_hearth({"backup", out.string()}, env_for(from, source)).exit_code, 0);
  const std::string good = test::read_file(out);
  const std::string log_text = "step 1 loss 1.5\n";
  const std::size_t in_a_file = good.find(log_text);
  ASSERT_NE(in_a_file, std::string::npos);

  struct Case {
    const char* name;
    std::string bytes;
    const char* says;
  };
  std::string flipped = good;
  flipped[in_a_file + 3] ^= 0x20;
  std::string bad_header = good;
  bad_header[10] ^= 0x01;  // the first entry's name
  // A well-formed header whose path climbs out of the home: refused before anything is written.
  std::string escaping = good;
  ASSERT_EQ(escaping.compare(0, 18, "database/hearth.db"), 0);
  escaping.replace(0, 18, "home/../../evil.db");
  unsigned sum = 0;
  for (std::size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(escaping[i]);
  char field[8];
  std::snprintf(field, sizeof field, "%06o", sum);
  escaping.replace(148, 7, field, 7);
  const std::vector<Case> cases{
      {"truncated", good.substr(0, good.size() / 2), "truncated"},
      {"flipped", flipped, "SHA-256"},
      {"bad-header", bad_header, "checksum"},
      {"escaping-path", escaping, "unexpected path"},
      {"cut-before-end", good.substr(0, good.size() - 1024 - 512), "truncated"},
      {"empty", "", "truncated"},
  };
  for (const auto& c : cases) {
    const fs::path bad = dir.path() / (std::string(c.name) + ".tar");
    std::ofstream(bad, std::ios::binary) << c.bytes;
    const auto r = run_hearth({"restore", bad.string()}, env_for(to, target));
    EXPECT_NE(r.exit_code, 0) << c.name;
    EXPECT_TRUE(contains(r.err, c.says)) << c.name << ": " << r.err;
    EXPECT_FALSE(contains(r.err, "internal error")) << c.name << ": " << r.err;
    // Nothing was written: no database, no files (the lock file aside).
    EXPECT_EQ(every_file(to, {"serve.lock"}).size(), 0u) << c.name;
    EXPECT_FALSE(fs::exists(dir.path() / "evil.db")) << c.name;
  }
  // The good one still restores into that untouched target.
  const auto r = run_hearth({"restore", out.string()}, env_for(to, target));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

// --include-key and --include-models put the key and the base weights in, and restore puts the
// key back private.
TEST(BackupKeyTest, IncludeKeyAndModels) {
  test::TempDir dir;
  const fs::path from = dir.path() / "from", to = dir.path() / "to";
  TargetDb source(Backend::sqlite, from), target(Backend::sqlite, to);
  fill_home(from);
  { fill_every_table(source.open(from), from); }
  const fs::path out = dir.path() / "all.tar";
  const auto made = run_hearth({"backup", "--include-key", "--include-models", out.string()}, env_for(from, source));
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  EXPECT_TRUE(contains(made.out, "master key is inside")) << made.out;
  const auto help = run_hearth({"help", "backup"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_TRUE(contains(help.out, "--include-key") && contains(help.out, "hearth restore")) << help.out;
  // The same name again is refused unless --force.
  const auto again = run_hearth({"backup", out.string()}, env_for(from, source));
  EXPECT_NE(again.exit_code, 0);
  EXPECT_TRUE(contains(again.err, "already exists")) << again.err;

  const auto back = run_hearth({"restore", out.string()}, env_for(to, target));
  ASSERT_EQ(back.exit_code, 0) << back.out << back.err;
  EXPECT_EQ(test::read_file(to / "secrets/master.key"), std::string(32, 'k'));
  EXPECT_EQ(fs::status(to / "secrets/master.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_TRUE(fs::exists(to / "blobs" / blob_name("GGUF base weights")));
  EXPECT_EQ(every_file(to, {"hearth.db", "hearth.db-wal", "hearth.db-shm", "serve.lock"}),
            every_file(from, {"hearth.db", "hearth.db-wal", "hearth.db-shm", "serve.lock",
                              "blobs/" + blob_name("x") + "-partial"}));
}

// A backup taken from a running server is fine; a restore into the home it serves is refused,
// and so is one into a home that is not empty (unless --force).
TEST(BackupServerTest, RestoreRefusedWhileServing) {
  test::TempDir dir;
  const fs::path home = dir.path() / "home", other = dir.path() / "other";
  TargetDb db(Backend::sqlite, home);
  fill_home(home);
  { fill_every_table(db.open(home), home); }
  test::ServerProcess server(home, {}, {{"HEARTH_DB", ""}});
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(30))) << server.output();
  const fs::path out = dir.path() / "live.tar";
  const auto made = run_hearth({"backup", out.string()}, env_for(home, db));
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;

  const auto refused = run_hearth({"restore", "--force", out.string()}, env_for(home, db));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.err, "server is running")) << refused.err;
  server.stop(SIGTERM, std::chrono::seconds(20));

  write(other / "notes.txt", "mine");
  const auto not_empty = run_hearth({"restore", out.string()}, env_for(other, db));
  EXPECT_NE(not_empty.exit_code, 0);
  EXPECT_TRUE(contains(not_empty.err, "not empty")) << not_empty.err;
  const auto forced = run_hearth({"restore", "--force", out.string()}, env_for(other, db));
  EXPECT_EQ(forced.exit_code, 0) << forced.out << forced.err;
  EXPECT_EQ(test::read_file(other / "notes.txt"), "mine");
  EXPECT_EQ(test::read_file(other / "jobs/1/log.txt"), "step 1 loss 1.5\n");
}

}  // namespace
}  // namespace hearth
