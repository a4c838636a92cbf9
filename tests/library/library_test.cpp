// library::Library called directly: who sees which model, names per user, pulls and their rows.
#include <algorithm>
#include <chrono>
#include <thread>

#include "library/library_test_util.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using test::error_kind_of;
using hearth::ErrorKind;

class ModelLibrary : public test::LibraryFixture {};

TEST_F(ModelLibrary, EveryUserSeesOnlyTheirOwnNames) {
  const std::string a = pull_served(alice, "Alice-Model.gguf");
  ASSERT_EQ(a, "alice-model:latest");

  EXPECT_EQ(names(alice), std::vector<std::string>{a});
  EXPECT_TRUE(names(bob).empty());
  EXPECT_TRUE(names(local).empty());  // the owner's names are the owner's too
  EXPECT_FALSE(store->find(a).has_value());

  EXPECT_EQ(library->resolve(alice, "alice-model").name, a);
  EXPECT_TRUE(fs::exists(library->resolve(alice, a).model_path));
  EXPECT_EQ(error_kind_of([&] { library->resolve(local, a); }), ErrorKind::not_found);
  // Bob is told exactly what a missing model says.
  EXPECT_EQ(error_kind_of([&] { library->resolve(bob, "alice-model"); }), ErrorKind::not_found);
  EXPECT_EQ(error_kind_of([&] { library->resolve(bob, "nothing-here"); }), ErrorKind::not_found);
  EXPECT_EQ(error_kind_of([&] { library->remove(bob, a); }), ErrorKind::not_found);
  EXPECT_EQ(error_kind_of([&] { library->copy(bob, a, "mine"); }), ErrorKind::not_found);
  EXPECT_EQ(error_kind_of([&] { library->resolve(alice, "Bad Name!"); }), ErrorKind::invalid_input);
  EXPECT_EQ(names(alice), std::vector<std::string>{a});  // nothing Bob did touched it

  // Rows: Alice's row, installed; Bob cannot reach it by id either.
  auto rows = library->rows(alice);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, db::ModelStatus::installed);
  EXPECT_EQ(rows[0].custom_name, a);
  EXPECT_EQ(error_kind_of([&] { library->row(bob, rows[0].id); }), ErrorKind::not_found);
  EXPECT_EQ(error_kind_of([&] { library->remove_row(bob, rows[0].id); }), ErrorKind::not_found);
  EXPECT_TRUE(library->rows(bob).empty());

  // The pull is in Alice's audit trail.
  const auto entries = db::AuditLog(*database).list(alice);
  ASSERT_FALSE(entries.empty());
  EXPECT_EQ(entries.front().action, "pull");
  EXPECT_EQ(entries.front().target, a);
}

TEST_F(ModelLibrary, RemoveKeepsBlobsAnotherUserStillUses) {
  const std::string a = pull_served(alice, "shared.gguf");
  const std::string b = pull_served(bob, "shared.gguf");
  ASSERT_EQ(a, b);
  ASSERT_EQ(test::blob_names(blobs()).size(), 1u);

  library->remove(alice, a);
  EXPECT_TRUE(names(alice).empty());
  EXPECT_EQ(names(bob), std::vector<std::string>{b});
  EXPECT_TRUE(fs::exists(library->resolve(bob, b).model_path));

  library->remove(bob, b);
  EXPECT_TRUE(names(bob).empty());
  EXPECT_TRUE(test::blob_names(blobs()).empty());
}

TEST_F(ModelLibrary, CopyFollowsOllamaAndNeverTouchesOtherUsersNames) {
  const std::string a = pull_served(alice, "base.gguf");
  library->copy(alice, a, "mine:v1");
  EXPECT_EQ(names(alice), (std::vector<std::string>{"base:latest", "mine:v1"}));
  EXPECT_TRUE(names(bob).empty());
  store::Store& alices = library->names(alice);

  // Onto the caller's own name: replaced (Ollama's /api/copy).
  const std::string other = pull_served(alice, "other.gguf", 0.25f);
  library->copy(alice, other, "mine:v1");
  EXPECT_EQ(alices.find("mine:v1")->blobs.at(0).digest, alices.find(other)->blobs.at(0).digest);

  // Onto a name Bob has: Alice gets a name of her own; Bob's still points at his weights.
  const std::string bobs = pull_served(bob, "bobs.gguf", 0.75f);
  const std::string bobs_digest = library->names(bob).find(bobs)->blobs.at(0).digest;
  library->copy(alice, a, bobs);
  EXPECT_EQ(alices.find(bobs)->blobs.at(0).digest, alices.find(a)->blobs.at(0).digest);
  EXPECT_EQ(names(bob), std::vector<std::string>{bobs});
  EXPECT_EQ(library->names(bob).find(bobs)->blobs.at(0).digest, bobs_digest);
  // Pulling something else under that name, or deleting it, is Alice's own business too.
  test::write_tiny_model(served() / "x.gguf", 128);
  library::PullSettings settings;
  settings.name = bobs;
  ASSERT_TRUE(library->pull(alice, server->url("x.gguf"), {}, {}, settings));
  library->remove(alice, bobs);
  EXPECT_EQ(library->names(bob).find(bobs)->blobs.at(0).digest, bobs_digest);
  EXPECT_TRUE(fs::exists(library->resolve(bob, bobs).model_path));
}

TEST_F(ModelLibrary, PullReportsOllamaStatusesAndOnlyTheOwnerImportsFiles) {
  test::write_tiny_model(served() / "events.gguf");
  std::vector<std::string> statuses;
  std::uint64_t total = 0;
  auto m = library->pull(
      alice, server->url("events.gguf"),
      [&](const library::PullProgressEvent& e) {
        if (statuses.empty() || statuses.back() != e.status) statuses.push_back(e.status);
        total = std::max(total, e.total);
      },
      {});
  ASSERT_TRUE(m);
  ASSERT_GE(statuses.size(), 4u);
  EXPECT_EQ(statuses.front(), "pulling manifest");
  EXPECT_EQ(statuses[1].rfind("pulling ", 0), 0u);
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), "verifying sha256 digest"), statuses.end());
  EXPECT_NE(std::find(statuses.begin(), statuses.end(), "writing manifest"), statuses.end());
  ASSERT_GE(statuses.size(), 2u);
  EXPECT_EQ(statuses[statuses.size() - 2], "checking the model");  // the post-pull check
  EXPECT_EQ(statuses.back(), "success");
  EXPECT_EQ(total, fs::file_size(served() / "events.gguf"));

  // A file on the server's disk: the local user may import it, a named user may not.
  const fs::path file = temp.path() / "local" / "Owner.gguf";
  test::write_tiny_model(file, 64);
  EXPECT_EQ(error_kind_of([&] { library->pull(bob, file.string(), {}, {}); }),
            ErrorKind::invalid_input);
  EXPECT_EQ(error_kind_of([&] { library->pull(bob, "/etc/hostname", {}, {}); }),
            ErrorKind::invalid_input);
  ASSERT_TRUE(library->pull(local, file.string(), {}, {}));
  EXPECT_EQ(library->resolve(local, "owner").name, "owner:latest");

  // Cancelled before anything: nullopt, nothing installed.
  test::write_tiny_model(served() / "cancelled.gguf", 64);
  EXPECT_FALSE(library->pull(alice, server->url("cancelled.gguf"), {}, [] { return true; }));
  EXPECT_FALSE(library->names(alice).find("cancelled").has_value());
}

TEST_F(ModelLibrary, BackgroundDownloadUpdateAndRemoveByRow) {
  test::write_tiny_model(served() / "bg.gguf");
  library::PullSettings settings;
  settings.name = "background:v1";
  db::PersonalModel row = library->start_download(alice, server->url("bg.gguf"), settings);
  EXPECT_EQ(row.custom_name, "background:v1");
  EXPECT_EQ(row.status, db::ModelStatus::pending);
  for (int i = 0; i < 200 && library->row(alice, row.id).status != db::ModelStatus::installed; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_EQ(library->row(alice, row.id).status, db::ModelStatus::installed);
  EXPECT_EQ(library->resolve(alice, "background:v1").name, "background:v1");

  // A failed pull (nothing served there) ends as failed with its message.
  db::PersonalModel bad = library->start_download(alice, server->url("missing.gguf"));
  for (int i = 0; i < 200 && library->row(alice, bad.id).status != db::ModelStatus::failed; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  EXPECT_EQ(library->row(alice, bad.id).status, db::ModelStatus::failed);
  EXPECT_NE(library->failure_message(alice, bad.custom_name).find("not found"), std::string::npos);

  // Rename and parameters keep the row's id.
  api::Options cooler;
  cooler.temperature = 0.2;
  db::PersonalModel renamed = library->update(alice, row.id, "renamed:v2", cooler);
  EXPECT_EQ(renamed.id, row.id);
  EXPECT_EQ(renamed.custom_name, "renamed:v2");
  EXPECT_FALSE(library->names(alice).find("background:v1").has_value());
  EXPECT_EQ(library->names(alice).find("renamed:v2")->parameters.temperature, 0.2);

  library->remove_row(alice, row.id);
  EXPECT_FALSE(library->names(alice).find("renamed:v2").has_value());
  EXPECT_EQ(error_kind_of([&] { library->row(alice, row.id); }), ErrorKind::not_found);

  library->shutdown();
  EXPECT_EQ(error_kind_of([&] { library->start_download(alice, server->url("bg.gguf")); }),
            ErrorKind::unavailable);
}

}  // namespace
}  // namespace hearth
