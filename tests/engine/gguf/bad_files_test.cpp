// Files built byte by byte, each wrong in one way: the reader must name the problem and use the
// right error kind.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/error.h"
#include "engine/gguf/gguf.h"
#include "support/test_support.h"

namespace hearth::gguf {
namespace {

constexpr uint64_t kHuge = 0xFFFFFFFFFFFFFFFFull;

// Little-endian bytes in GGUF layout, with no checks at all.
struct Raw {
  std::vector<uint8_t> out;

  template <typename T>
  Raw& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
    return *this;
  }
  Raw& u8(uint8_t v) { return put(v); }
  Raw& u32(uint32_t v) { return put(v); }
  Raw& u64(uint64_t v) { return put(v); }
  Raw& str(std::string_view s) {
    u64(s.size());
    out.insert(out.end(), s.begin(), s.end());
    return *this;
  }
  Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    out.insert(out.end(), {'G', 'G', 'U', 'F'});
    return u32(version).u64(n_tensors).u64(n_kv);
  }
  Raw& kv_u32(std::string_view key, uint32_t v) { return str(key).u32(4).u32(v); }
  // name | n_dims | ne... | type | offset
  Raw& tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }
  Raw& pad_and_data(uint64_t data_bytes, uint32_t alignment = 32) {
    out.resize((out.size() + alignment - 1) / alignment * alignment, 0);
    out.resize(out.size() + data_bytes, 0);
    return *this;
  }
};

// Parses `bytes` expecting an Error of `kind` whose message contains `fragment`.
void expect_rejected(const Raw& raw, ErrorKind kind, const std::string& fragment) {
  try {
    File::parse(raw.out, "bad.gguf");
    ADD_FAILURE() << "accepted a file that should fail with: " << fragment;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(e.kind(), kind) << message;
    EXPECT_TRUE(message.starts_with("bad.gguf: ")) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
  }
}

TEST(GgufBadFiles, HeaderProblems) {
  using K = ErrorKind;
  expect_rejected(Raw{{'G', 'G', 'U'}}, K::corrupt_file, "only 3 bytes long");
  Raw wrong_magic;
  wrong_magic.out = {'G', 'G', 'M', 'L', 3, 0, 0, 0};
  expect_rejected(wrong_magic, K::corrupt_file, "not a GGUF file: starts with 'GGML'");
  expect_rejected(Raw().header(0, 0, 1), K::unsupported, "GGUF version 1 is no longer supported");
  expect_rejected(Raw().header(0, 0, 0x03000000), K::unsupported, "big-endian");
  expect_rejected(Raw().header(0, 0, 4), K::unsupported, "GGUF version 4");
  expect_rejected(Raw().header(0, 0, 0), K::corrupt_file, "version is 0");
  expect_rejected(Raw().header(0, kHuge), K::corrupt_file,
                  "claims 18446744073709551615 metadata keys");
  expect_rejected(Raw().header(uint64_t{1} << 62, 0), K::corrupt_file, "tensors");
  Raw truncated = Raw().header(0, 0);
  truncated.out.resize(20);
  expect_rejected(truncated, K::corrupt_file, "needs 8 bytes at offset 16 but only 4 are left");
}

TEST(GgufBadFiles, MetadataProblems) {
  using K = ErrorKind;
  try {
    File::parse(Raw().header(0, 1).str("general.name").u32(8).u64(kHuge).u64(0).u32(0).out,
                "x.gguf");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "x.gguf: metadata key 'general.name': string length 18446744073709551615 "
                 "exceeds the 12 bytes left in the file");
  }
  expect_rejected(Raw().header(0, 2).kv_u32("a", 1).kv_u32("a", 2), K::corrupt_file,
                  "metadata key 'a': the key appears twice");
  expect_rejected(Raw().header(0, 1).str("k").u32(13).u64(0), K::corrupt_file,
                  "metadata key 'k': value type 13 is not a GGUF value type");
  expect_rejected(Raw().header(0, 1).str("k").u32(7).u8(2), K::corrupt_file, "bool value is 2");
  expect_rejected(Raw().header(0, 1).str("").u32(4).u32(0), K::corrupt_file, "key is empty");
  expect_rejected(Raw().header(0, 1).str("a\xff").u32(4).u32(0), K::corrupt_file,
                  "key 'a\\xff' is not valid UTF-8");
  expect_rejected(Raw().header(0, 1).str("k").u32(9).u32(4).u64(uint64_t{1} << 62).u64(0),
                  K::corrupt_file, "claims 4611686018427387904 array items");
  expect_rejected(Raw().header(0, 1).str("k").u32(9).u32(14).u64(0), K::corrupt_file,
                  "array element type 14");
  expect_rejected(Raw().header(0, 1).str("k").u32(9).u32(8).u64(2).str("ok").u64(99),
                  K::corrupt_file, "metadata key 'k' item 1: string length 99 exceeds");
  expect_rejected(Raw().header(0, 1).str("k").u32(9).u32(0).u64(5).u8(1), K::corrupt_file,
                  "claims 5 array items but only 1 bytes are left");
}

TEST(GgufBadFiles, ArrayItemsPerFileAreCapped) {
  constexpr uint64_t kCap = uint64_t{1} << 22;
  Raw raw = Raw().header(0, 1).str("k").u32(9).u32(0).u64(kCap + 1);
  raw.out.resize(raw.out.size() + kCap + 1, 0);
  expect_rejected(raw, ErrorKind::unsupported, "more than 4194304 items");
}

TEST(GgufBadFiles, NestedArrayDepthIsBounded) {
  auto nested = [](int depth) {
    Raw raw = Raw().header(0, 1).str("k").u32(9);
    for (int d = 1; d < depth; ++d) raw.u32(9).u64(1);
    return raw.u32(0).u64(1).u8(7);
  };
  const File ok = File::parse(nested(8).out, "ok.gguf");
  const Value* v = ok.find("k");
  for (int d = 1; d < 8; ++d) v = &v->items.at(0);
  EXPECT_EQ(v->items.at(0).u, 7u);
  expect_rejected(nested(9), ErrorKind::corrupt_file, "nested deeper than 8 levels");
}

TEST(GgufBadFiles, AlignmentProblems) {
  using K = ErrorKind;
  expect_rejected(Raw().header(0, 1).kv_u32("general.alignment", 0), K::corrupt_file,
                  "alignment 0 is not a power of two");
  expect_rejected(Raw().header(0, 1).kv_u32("general.alignment", 48), K::corrupt_file,
                  "alignment 48 is not a power of two");
  expect_rejected(Raw().header(0, 1).str("general.alignment").u32(10).u64(32), K::corrupt_file,
                  "'general.alignment': is u64, expected u32");
}

TEST(GgufBadFiles, TensorInfoProblems) {
  using K = ErrorKind;
  auto one = [](std::vector<uint64_t> ne, uint32_t type, uint64_t offset, uint64_t data) {
    return Raw().header(1, 0).tensor("t", std::move(ne), type, offset).pad_and_data(data);
  };
  expect_rejected(one({}, 0, 0, 4), K::corrupt_file, "tensor 't': has 0 dimensions");
  expect_rejected(one({1, 1, 1, 1, 1}, 0, 0, 4), K::corrupt_file, "has 5 dimensions");
  expect_rejected(one({4, 0}, 0, 0, 16), K::corrupt_file, "dimension 1 is 0");
  expect_rejected(one({uint64_t{1} << 63}, 0, 0, 16), K::corrupt_file, "dimension 0 is -");
  expect_rejected(one({33}, 8, 0, 64), K::corrupt_file, "not a multiple of the Q8_0 block size 32");
  expect_rejected(one({uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0, 16), K::corrupt_file,
                  "overflows 64 bits");
  expect_rejected(one({4}, 4, 0, 16), K::unsupported, "tensor type id 4,");
  expect_rejected(one({4}, 0xFFFFFFFF, 0, 16), K::unsupported, "tensor type id 4294967295");
  expect_rejected(one({4}, 0, 16, 64), K::corrupt_file, "offset 16 is not a multiple of the");
  expect_rejected(one({4}, 0, 32, 32), K::corrupt_file, "extend past the end of the file");
  expect_rejected(one({4}, 0, uint64_t{1} << 63, 32), K::corrupt_file, "extend past the end");
  expect_rejected(one({4}, 0, 0, 8), K::corrupt_file, "16 bytes of data at offset 0 extend past");
  expect_rejected(
      Raw().header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {4}, 0, 32).pad_and_data(64),
      K::corrupt_file, "tensors 'a' and 'b' overlap");
  expect_rejected(
      Raw().header(2, 0).tensor("a", {4}, 0, 0).tensor("a", {4}, 0, 32).pad_and_data(64),
      K::corrupt_file, "tensor 'a': the name appears twice");
  Raw cut = one({4}, 0, 0, 16);
  cut.out.resize(56);
  expect_rejected(cut, K::corrupt_file,
                  "tensor 't': tensor data offset needs 8 bytes at offset 49 but only 7 are left");
}

TEST(GgufBadFiles, AcceptsUnusualButValidLayouts) {
  // Tensors stored out of order, with a gap, and a file without tensors that ends unpadded.
  const Raw gaps =
      Raw().header(2, 0).tensor("a", {4}, 0, 64).tensor("b", {4}, 0, 0).pad_and_data(96);
  const File file = File::parse(gaps.out, "gaps.gguf");
  EXPECT_EQ(file.find_tensor("a")->offset, 64u);
  const Raw unpadded = Raw().header(0, 1).kv_u32("k", 5);
  const File empty = File::parse(unpadded.out, "empty.gguf");
  EXPECT_EQ(empty.file_size(), empty.header_size());
  EXPECT_EQ(empty.data_offset(), 64u);
  EXPECT_EQ(Writer::copy_of(empty).to_bytes(), unpadded.out);
}

TEST(GgufBadFiles, MissingFileIsNotFound) {
  ::hearth::test::TempDir dir;
  try {
    File::open(dir.path() / "absent.gguf");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
  }
  EXPECT_THROW(File::open(dir.path()), Error);  // a folder: io
}

}  // namespace
}  // namespace hearth::gguf
