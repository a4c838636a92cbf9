// Store: names, manifests, list/find/remove/copy and import of local files.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "core/error.h"
#include "store/blob_stamp.h"
#include "store/file_util.h"
#include "store_test_util.h"
#include "support/json_test_util.h"

namespace hearth::test {
namespace {

using store::Manifest;
using store::Store;

ErrorKind error_kind_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no Error thrown";
  return ErrorKind::internal;
}

TEST(ModelNameTest, ParsesNamesAndTags) {
  auto n = store::parse_model_name("fast-assistant:q8_0");
  EXPECT_EQ(n.name, "fast-assistant");
  EXPECT_EQ(n.tag, "q8_0");
  EXPECT_EQ(store::parse_model_name("me/my-model.v2").full(), "me/my-model.v2:latest");
  for (const char* bad :
       {"", ":tag", "name:", "../etc", "a//b", "a/../b", "-x", "a:b/c", "a b", "/abs", "a:.x"})
    EXPECT_EQ(error_kind_of([&] { store::parse_model_name(bad); }), ErrorKind::invalid_input)
        << bad;
}

class StoreTest : public StoreFixture {
 protected:
  Store store{home()};
  TestModel local(const std::string& name, size_t bytes, uint32_t seed) {
    return make_gguf(temp.path() / "local" / name, bytes, seed);
  }
};

TEST_F(StoreTest, EmptyStoreListsNothing) {
  EXPECT_TRUE(store.list().empty());
  EXPECT_FALSE(store.find("nothing").has_value());
}

TEST_F(StoreTest, ManifestRoundTripsThroughItsFile) {
  auto model = local("a.gguf", 4096, 1);
  store.import_file(model.path, "base:v1");
  Manifest m = *store.find("base:v1");
  m.tag = "tuned";
  m.parameters.temperature = 0.5;
  m.parameters.stop = std::vector<std::string>{"<|end|>"};
  m.template_text = "{{ .Prompt }}";
  m.system = "Be brief.";
  m.license = "MIT";
  m.base_model = "base:v1";
  m.created_at.clear();
  store.write(m);
  auto back = store.find("base:tuned");
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->parameters, m.parameters);
  EXPECT_EQ(back->template_text, m.template_text);
  EXPECT_EQ(back->system, "Be brief.");
  EXPECT_EQ(back->license, "MIT");
  // Written only when set: a manifest without them reads back without them.
  EXPECT_FALSE(json_from(read_file(home() / "manifests" / "base" / "v1")).as_object().contains("system"));
  EXPECT_TRUE(store.find("base:v1")->system.empty());
  EXPECT_EQ(back->base_model, "base:v1");
  EXPECT_EQ(back->blobs[0].digest, model.digest);
  EXPECT_EQ(back->created_at.size(), 20u);  // 2025-06-01T12:00:00Z
  const json::value manifest = json_from(read_file(home() / "manifests" / "base" / "tuned"));
  EXPECT_EQ(manifest.at("schema"), json::value(1));
  EXPECT_EQ(manifest.at_pointer("/lineage/base_model").as_string(), "base:v1");
}

TEST_F(StoreTest, NewerOrBrokenManifestsAreRefusedAndSkippedByList) {
  auto model = local("a.gguf", 4096, 1);
  store.import_file(model.path, "good");
  auto dir = home() / "manifests" / "future";
  std::filesystem::create_directories(dir);
  store::write_file_atomically(dir / "latest", R"({"schema": 2})");
  store::write_file_atomically(dir / "broken", "{ not json");
  EXPECT_EQ(error_kind_of([&] { store.find("future:latest"); }), ErrorKind::unsupported);
  EXPECT_EQ(error_kind_of([&] { store.find("future:broken"); }), ErrorKind::corrupt_file);
  auto listed = store.list();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].full_name(), "good:latest");
}

TEST_F(StoreTest, NameWithoutTagFindsLatestOrTheOnlyTag) {
  auto model = local("a.gguf", 4096, 1);
  store.import_file(model.path, "solo:q4_k_m");
  EXPECT_EQ(store.find("solo")->tag, "q4_k_m");
  store.import_file(model.path, "solo:q8_0");
  EXPECT_FALSE(store.find("solo").has_value());  // two tags, neither latest: ambiguous
  store.import_file(model.path, "solo");
  EXPECT_EQ(store.find("solo")->tag, "latest");
}

TEST_F(StoreTest, WriteRefusesAManifestWhoseBlobIsMissing) {
  Manifest m;
  m.name = "ghost";
  m.tag = "latest";
  m.blobs.push_back({"sha256:" + std::string(64, 'a'), 10, "model"});
  EXPECT_EQ(error_kind_of([&] { store.write(m); }), ErrorKind::not_found);
  EXPECT_TRUE(store.list().empty());
}

TEST_F(StoreTest, RemoveDeletesOnlyBlobsNoOtherManifestUses) {
  auto shared = local("shared.gguf", 4096, 1);
  auto own = local("own.gguf", 4096, 2);
  store.import_file(shared.path, "one");
  store.copy("one", "two");
  store.import_file(own.path, "three");
  store.remove("one");
  EXPECT_TRUE(std::filesystem::exists(store.blob_path(shared.digest)));  // "two" still uses it
  store.remove("two");
  EXPECT_FALSE(std::filesystem::exists(store.blob_path(shared.digest)));
  EXPECT_TRUE(std::filesystem::exists(store.blob_path(own.digest)));
  EXPECT_TRUE(std::filesystem::exists(shared.path));  // the imported source is untouched
  EXPECT_EQ(store.list().size(), 1u);
  EXPECT_EQ(error_kind_of([&] { store.remove("one"); }), ErrorKind::not_found);
}

TEST_F(StoreTest, CopyMakesANewNameAndRefusesToOverwrite) {
  auto model = local("a.gguf", 4096, 1);
  store.import_file(model.path, "orig:v1");
  store.copy("orig:v1", "me/custom");
  auto copied = store.find("me/custom:latest");
  ASSERT_TRUE(copied.has_value());
  EXPECT_EQ(copied->blobs[0].digest, model.digest);
  EXPECT_EQ(error_kind_of([&] { store.copy("orig:v1", "me/custom"); }), ErrorKind::conflict);
  EXPECT_EQ(error_kind_of([&] { store.copy("nope", "x"); }), ErrorKind::not_found);
}

TEST_F(StoreTest, ImportCopiesSoChangingTheSourceLaterCannotChangeTheBlob) {
  auto model = local("a.gguf", 64 << 10, 1);
  struct stat before {};
  ASSERT_EQ(::stat(model.path.c_str(), &before), 0);
  Manifest m = store.import_file(model.path, "imported");
  struct stat source {
  }, blob{};
  ASSERT_EQ(::stat(model.path.c_str(), &source), 0);
  ASSERT_EQ(::stat(store.blob_path(model.digest).c_str(), &blob), 0);
  EXPECT_NE(source.st_ino, blob.st_ino);  // a copy (or reflink) of its own, never a hard link
  EXPECT_EQ(blob.st_nlink, 1u);
  EXPECT_EQ(source.st_mtim.tv_sec, before.st_mtim.tv_sec);  // the source is left alone
  EXPECT_EQ(source.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(sha256_file_hex(model.path), store::digest_hex(model.digest));
  EXPECT_EQ(m.blobs[0].size, model.size);
  EXPECT_EQ(m.source, model.path.string());
  EXPECT_EQ(store::read_blob_stamp(store.blob_path(model.digest)),
            store::stat_blob(store.blob_path(model.digest)));

  // The user edits the file in place and appends to it: the installed model is unchanged.
  {
    std::fstream f(model.path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f << "EDITED";
  }
  std::ofstream(model.path, std::ios::app | std::ios::binary) << "more";
  ASSERT_NE(sha256_file_hex(model.path), store::digest_hex(model.digest));
  EXPECT_EQ(sha256_file_hex(store.blob_path(model.digest)), store::digest_hex(model.digest));
  EXPECT_NO_THROW(store::check_blob_unchanged(store.blob_path(model.digest), "imported:latest"));
}

TEST_F(StoreTest, ImportFromAnotherFileSystemCopies) {
  std::filesystem::path shm = "/dev/shm";
  struct stat a {
  }, b{};
  if (::stat(shm.c_str(), &a) != 0 || ::stat(temp.path().c_str(), &b) != 0 || a.st_dev == b.st_dev)
    GTEST_SKIP() << "/dev/shm is not a separate file system here";
  auto path = shm / ("hearth-import-test-" + std::to_string(::getpid()) + ".gguf");
  auto model = make_gguf(path, 64 << 10, 3);
  store.import_file(model.path, "copied");
  struct stat blob {};
  ASSERT_EQ(::stat(store.blob_path(model.digest).c_str(), &blob), 0);
  EXPECT_EQ(blob.st_nlink, 1u);
  EXPECT_EQ(read_file(store.blob_path(model.digest)), read_file(model.path));
  std::filesystem::remove(path);
}

TEST_F(StoreTest, ImportRefusesMissingAndNonGgufFiles) {
  EXPECT_EQ(error_kind_of([&] { store.import_file(temp.path() / "none.gguf", "x"); }),
            ErrorKind::not_found);
  std::ofstream(temp.path() / "text.gguf") << "hello, not a model";
  EXPECT_EQ(error_kind_of([&] { store.import_file(temp.path() / "text.gguf", "x"); }),
            ErrorKind::invalid_input);
  EXPECT_TRUE(store.list().empty());
  EXPECT_EQ(file_names(blobs()), std::vector<std::string>{});
}

}  // namespace
}  // namespace hearth::test
