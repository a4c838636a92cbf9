// Blob stamps (blob_stamp.h): recorded at install, checked before a load, refreshed on demand.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "core/error.h"
#include "store/blob_stamp.h"
#include "store_test_util.h"

namespace hearth::test {
namespace {

namespace fs = std::filesystem;

class BlobStampTest : public StoreFixture {
 protected:
  store::Store store{home()};
  fs::path install(const std::string& name, uint32_t seed) {
    auto model = make_gguf(temp.path() / "local" / (name + ".gguf"), 32 << 10, seed);
    store.import_file(model.path, name);
    return store.blob_path(model.digest);
  }
  // The message check_blob_unchanged gives; "" when it passes.
  static std::string check(const fs::path& blob, const std::string& name) {
    try {
      store::check_blob_unchanged(blob, name);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt_file);
      return e.what();
    }
    return "";
  }
};

TEST_F(BlobStampTest, SizeOrMtimeChangesAreRefusedUntilVerified) {
  const fs::path blob = install("m", 1);
  EXPECT_TRUE(fs::exists(home() / "blob-stamps" / blob.filename()));
  EXPECT_EQ(check(blob, "m:latest"), "");

  std::ofstream(blob, std::ios::app | std::ios::binary) << "x";  // appended
  std::string why = check(blob, "m:latest");
  EXPECT_NE(why.find("model 'm:latest' changed on disk since it was installed"), std::string::npos)
      << why;
  EXPECT_NE(why.find("hearth pull --verify m:latest"), std::string::npos) << why;
  EXPECT_EQ(why.find(blob.string()), std::string::npos) << why;  // no path in the message

  ASSERT_EQ(::truncate(blob.c_str(), static_cast<off_t>(fs::file_size(blob) - 1)), 0);  // size back
  why = check(blob, "m:latest");  // ...but the mtime moved
  EXPECT_NE(why.find("modification time changed"), std::string::npos) << why;

  store::record_blob_stamp(blob);  // what `hearth pull --verify` does once the hash matched
  EXPECT_EQ(check(blob, "m:latest"), "");

  fs::remove(blob);
  why = check(blob, "m:latest");
  EXPECT_NE(why.find("weights are missing"), std::string::npos) << why;
}

TEST_F(BlobStampTest, BlobsFromBeforeStampsGetOneAndOtherFilesAreNotChecked) {
  const fs::path blob = install("old", 2);
  store::remove_blob_stamp(blob);  // as an older hearth left it
  EXPECT_EQ(check(blob, "old:latest"), "");
  EXPECT_EQ(store::read_blob_stamp(blob), store::stat_blob(blob));
  std::ofstream(blob, std::ios::app | std::ios::binary) << "x";
  EXPECT_NE(check(blob, "old:latest"), "");

  // A GGUF file given by path is the user's own file: nothing to compare with.
  auto loose = make_gguf(temp.path() / "loose.gguf", 4096, 3);
  EXPECT_EQ(check(loose.path, "loose.gguf"), "");
  EXPECT_FALSE(fs::exists(temp.path() / "blob-stamps"));

  // Removing the model removes its stamp.
  store.remove("old");
  EXPECT_FALSE(fs::exists(store::blob_stamp_path(blob)));
}

}  // namespace
}  // namespace hearth::test
