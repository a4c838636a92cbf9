#include "core/sha256.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "support/test_support.h"

namespace hearth {

// Published test vectors (FIPS 180-2).
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, StreamingEqualsOneShot) {
  std::string text(3'000'000, 'x');
  for (size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  Sha256 h;
  for (size_t at = 0; at < text.size(); at += 7919)
    h.update(std::string_view(text).substr(at, 7919));
  EXPECT_EQ(h.finish_hex(), sha256_hex(text));
}

TEST(Sha256, FileMatchesBytesAndMissingFileIsNotFound) {
  test::TempDir dir;
  auto path = dir.path() / "blob";
  std::string content = "hearth blob\n";
  std::ofstream(path, std::ios::binary) << content;
  EXPECT_EQ(sha256_file_hex(path), sha256_hex(content));
  try {
    sha256_file_hex(dir.path() / "missing");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
}

}  // namespace hearth
