// Sealing the remote trainer's API key (loop/remote_settings.h): the key file is made 0600 on
// first use, a sealed text opens only with that key and unaltered, a key file others may read is
// refused, and base URLs are checked.
#include "loop/remote_settings.h"

#include <sys/stat.h>

#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "support/test_support.h"

namespace hearth::loop {
namespace {

TEST(RemoteSettings, SealedKeysOpenOnlyWithTheirKeyFile) {
  test::TempDir dir;
  const auto key_file = dir.path() / "secrets" / "remote.key";
  const std::string sealed = seal_secret("sk-123", key_file);
  struct stat st {};
  ASSERT_EQ(::stat(key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(sealed.find("sk-123"), std::string::npos);
  EXPECT_EQ(open_secret(sealed, key_file), "sk-123");
  EXPECT_NE(seal_secret("sk-123", key_file), sealed);  // a fresh nonce every time

  // Altered: refused, not garbage.
  std::string altered = sealed;
  altered[altered.size() / 2] = altered[altered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_THROW(open_secret(altered, key_file), Error);
  EXPECT_THROW(open_secret("not base64 !", key_file), Error);
  // Another key file: refused.
  const auto other = dir.path() / "other" / "remote.key";
  EXPECT_THROW(open_secret(sealed, other), Error);

  // Readable by others: not used.
  ASSERT_EQ(::chmod(key_file.c_str(), 0640), 0);
  try {
    open_secret(sealed, key_file);
    ADD_FAILURE() << "a key file of mode 0640 was used";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
    EXPECT_NE(std::string(e.what()).find("0640"), std::string::npos) << e.what();
  }
  // A key file of the wrong size.
  const auto short_file = dir.path() / "short.key";
  std::ofstream(short_file) << "short";
  ASSERT_EQ(::chmod(short_file.c_str(), 0600), 0);
  EXPECT_THROW(seal_secret("x", short_file), Error);
}

TEST(RemoteSettings, BaseUrlsAreHttpOnly) {
  EXPECT_EQ(checked_base_url("https://93.184.216.34/v1/"), "https://93.184.216.34/v1");
  EXPECT_THROW(checked_base_url("http://127.0.0.1:8080/v1"), Error);  // loopback, not allowed here
  for (const char* bad : {"ftp://x/v1", "api.openai.com/v1", "https://", "http:///v1", "file:///x",
                          "http://user@host/v1"})
    EXPECT_THROW(checked_base_url(bad), Error) << bad;
}

}  // namespace
}  // namespace hearth::loop
