// Blobs sent over the API (store/blob_upload.h): digest forms, the check against the named digest,
// nothing left behind by a refused or abandoned upload, and who sent what.
#include <gtest/gtest.h>

#include "core/error.h"
#include "core/sha256.h"
#include "store/blob_upload.h"
#include "store/store.h"
#include "support/test_support.h"

namespace hearth::test {
namespace {

namespace fs = std::filesystem;

// Files in blobs/ that are not finished blobs.
int partial_files(const store::Store& s) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(s.blobs_dir()))
    if (!e.path().filename().string().starts_with("sha256-")) ++n;
  return n;
}

TEST(BlobDigest, TakesBothSeparatorsAndEitherCaseAndRefusesTheRest) {
  const std::string hex(64, 'a');
  EXPECT_EQ(store::normalize_digest("sha256:" + hex, "d"), "sha256:" + hex);
  EXPECT_EQ(store::normalize_digest("sha256-" + std::string(64, 'A'), "d"), "sha256:" + hex);
  const std::vector<std::string> bads = {"sha256:" + std::string(63, 'a'), "sha256:" + std::string(64, 'g'),
                                         "md5:" + hex, hex, "sha256:" + hex + "0", ""};
  for (const std::string& bad : bads) {
    try {
      store::normalize_digest(bad, "the path's digest");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
      EXPECT_NE(std::string(e.what()).find("the path's digest"), std::string::npos) << e.what();
    }
  }
}

class BlobUploadTest : public ::testing::Test {
 protected:
  TempDir temp;
  store::Store store{temp.path() / "home"};
};

TEST_F(BlobUploadTest, KeepsTheBodyOnlyWhenItsDigestMatchesAndRecordsTheSender) {
  const std::string bytes = "an adapter's bytes";
  const std::string digest = "sha256:" + sha256_hex(bytes);
  {
    store::BlobUpload wrong(store, "sha256:" + sha256_hex("something else"));
    wrong.write(bytes);
    EXPECT_THROW(wrong.finish(7), Error);
  }
  {
    store::BlobUpload abandoned(store, digest);
    abandoned.write(bytes.substr(0, 4));  // the client went away
  }
  EXPECT_FALSE(fs::exists(store.blob_path(digest)));
  EXPECT_EQ(partial_files(store), 0);
  EXPECT_FALSE(store::uploaded_by(store, digest, 7));

  store::BlobUpload up(store, digest);
  up.write(bytes.substr(0, 5));
  up.write(bytes.substr(5));
  EXPECT_EQ(up.finish(7), bytes.size());
  EXPECT_EQ(read_file(store.blob_path(digest)), bytes);
  EXPECT_TRUE(store::uploaded_by(store, digest, 7));
  EXPECT_FALSE(store::uploaded_by(store, digest, 8));

  // The same bytes from another user: one blob, both senders.
  store::BlobUpload again(store, digest);
  again.write(bytes);
  again.finish(8);
  EXPECT_TRUE(store::uploaded_by(store, digest, 8));
  EXPECT_EQ(partial_files(store), 0);

  // Gone from the store (its last model deleted): nobody is told it is there.
  fs::remove(store.blob_path(digest));
  EXPECT_FALSE(store::uploaded_by(store, digest, 7));
}

}  // namespace
}  // namespace hearth::test
