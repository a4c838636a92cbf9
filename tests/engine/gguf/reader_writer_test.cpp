// Hand-built files: every value type, nested arrays, versions 2 and 3, custom alignment, the
// typed accessors, and the writer's own checks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "core/error.h"
#include "engine/gguf/gguf.h"
#include "sample_files.h"
#include "support/test_support.h"

namespace hearth::gguf {
namespace {

using test::sample_gguf;
using test::SampleOptions;

File parse(const std::vector<uint8_t>& bytes) {
  return File::parse(bytes, "sample.gguf");
}

TEST(GgufReader, ReadsEveryScalarTypeExactly) {
  const auto bytes = sample_gguf();
  const File file = parse(bytes);
  EXPECT_EQ(file.version(), 3u);
  for (const auto& [key, expected] : test::every_scalar()) {
    SCOPED_TRACE(key);
    const Value* v = file.find(key);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->type, expected.type);
    EXPECT_EQ(v->u, expected.u);
    EXPECT_EQ(v->i, expected.i);
    EXPECT_EQ(v->s, expected.s);
    if (expected.type == ValueType::f32) {
      EXPECT_EQ(v->f, static_cast<double>(0.1f));
    }
    if (expected.type == ValueType::f64) {
      EXPECT_EQ(v->f, -1.0e300);
    }
    if (expected.type != ValueType::string) {
      const Value* array = file.get_array(key + "_array", expected.type);
      ASSERT_NE(array, nullptr);
      ASSERT_EQ(array->items.size(), 3u);
      EXPECT_EQ(array->items[2].u, expected.u);
      EXPECT_EQ(array->items[2].i, expected.i);
    }
  }
  EXPECT_EQ(file.get_int("test.u8"), 255);
  EXPECT_EQ(file.get_int("test.i64"), INT64_MIN);
  EXPECT_EQ(file.get_int("test.u32"), 4000000000);
  EXPECT_EQ(file.get_float("test.f64"), -1.0e300);
  EXPECT_EQ(file.get_bool("test.bool"), true);
  EXPECT_EQ(file.get_string("test.string"), "caf\xc3\xa9 \xe6\x9d\xb1\xe4\xba\xac");
  EXPECT_EQ(file.get_string("no.such.key"), std::nullopt);
  EXPECT_EQ(file.get_array("no.such.key", ValueType::u8), nullptr);
}

TEST(GgufReader, ReadsArraysOfStringsAndNestedArrays) {
  const auto bytes = sample_gguf();
  const File file = parse(bytes);
  const Value* strings = file.get_array("test.strings", ValueType::string);
  ASSERT_NE(strings, nullptr);
  ASSERT_EQ(strings->items.size(), 3u);
  EXPECT_EQ(strings->items[0].s, "<unk>");
  EXPECT_EQ(strings->items[1].s, "");
  EXPECT_EQ(strings->items[2].s, "\xe2\x96\x81the");
  EXPECT_TRUE(file.get_array("test.empty", ValueType::i32)->items.empty());
  const Value* nested = file.get_array("test.nested", ValueType::array);
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->items.size(), 3u);
  EXPECT_EQ(nested->items[0].element_type, ValueType::u8);
  EXPECT_EQ(nested->items[0].items.at(0).u, 1u);
  EXPECT_EQ(nested->items[1].items.at(0).s, "x");
  EXPECT_EQ(nested->items[2].items.at(0).element_type, ValueType::f32);
  EXPECT_TRUE(nested->items[2].items.at(0).items.empty());
}

TEST(GgufReader, TypedAccessorsRejectWrongTypes) {
  const auto bytes = sample_gguf();
  const File file = parse(bytes);
  auto expect_corrupt = [](auto&& call, const char* fragment) {
    try {
      call();
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::corrupt_file);
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_corrupt([&] { file.get_string("test.u32"); }, "'test.u32' is u32, expected string");
  expect_corrupt([&] { file.get_int("test.f32"); }, "expected an integer");
  expect_corrupt([&] { file.get_int("test.u64"); }, "too large");
  expect_corrupt([&] { file.get_float("test.i32"); }, "expected f32 or f64");
  expect_corrupt([&] { file.get_bool("test.u8"); }, "expected bool");
  expect_corrupt([&] { file.get_array("test.strings", ValueType::i32); },
                 "is array of string, expected array of i32");
  expect_corrupt([&] { file.get_array("test.u8", ValueType::u8); }, "is u8, expected array");
}

TEST(GgufReader, ReadsTensorsAndTheirData) {
  const auto bytes = sample_gguf();
  const File file = parse(bytes);
  ASSERT_EQ(file.tensors().size(), 3u);
  const TensorInfo* b = file.find_tensor("b.weight");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, TensorType::q8_0);
  EXPECT_EQ(b->ne, (std::vector<int64_t>{64, 2}));
  EXPECT_EQ(b->n_elements(), 128);
  EXPECT_EQ(b->n_bytes, 4u * 34u);
  EXPECT_EQ(b->offset % 32, 0u);
  const auto data = file.tensor_data(*b);
  ASSERT_EQ(data.size(), 136u);
  EXPECT_TRUE(std::all_of(data.begin(), data.end(), [](uint8_t x) { return x == 0x11; }));
  EXPECT_EQ(file.find_tensor("c.bias")->n_bytes, 10u);
  EXPECT_EQ(file.find_tensor("missing"), nullptr);
  EXPECT_EQ(file.data_offset() % 32, 0u);
  EXPECT_LE(file.header_size(), file.data_offset());
}

TEST(GgufReader, ReadsVersion2LikeVersion3) {
  const auto v3 = sample_gguf();
  const auto v2 = sample_gguf({.version = 2});
  const File file = parse(v2);
  EXPECT_EQ(file.version(), 2u);
  EXPECT_EQ(file.metadata().size(), parse(v3).metadata().size());
  ASSERT_EQ(v2.size(), v3.size());
  EXPECT_TRUE(std::equal(v2.begin() + 8, v2.end(), v3.begin() + 8));
  EXPECT_EQ(Writer::copy_of(file).to_bytes(), v2);
}

TEST(GgufReader, HonoursCustomAlignment) {
  for (uint32_t alignment : {1u, 8u, 64u, 4096u}) {
    SCOPED_TRACE(alignment);
    const auto bytes = sample_gguf({.alignment = alignment});
    const File file = parse(bytes);
    EXPECT_EQ(file.alignment(), alignment);
    EXPECT_EQ(file.data_offset() % alignment, 0u);
    for (const TensorInfo& t : file.tensors()) EXPECT_EQ(t.offset % alignment, 0u);
    EXPECT_EQ(file.tensor_data(*file.find_tensor("a.weight"))[0], 0x3f);
    EXPECT_EQ(bytes.size() % alignment, 0u);
    EXPECT_EQ(Writer::copy_of(file).to_bytes(), bytes);
  }
}

TEST(GgufWriter, RoundTripsHandBuiltFiles) {
  for (bool tensors : {true, false}) {
    const auto bytes = sample_gguf({.tensors = tensors});
    const File file = parse(bytes);
    EXPECT_EQ(Writer::copy_of(file).to_bytes(), bytes);
    if (!tensors) {
      EXPECT_EQ(bytes.size() % 32, 0u);  // the empty data section is padded
    }
  }
}

TEST(GgufWriter, WritesAtomicallyToDisk) {
  ::hearth::test::TempDir dir;
  const auto bytes = sample_gguf();
  const File source = parse(bytes);
  const auto path = dir.path() / "out.gguf";
  Writer::copy_of(source).write(path);
  const File reread = File::open(path);
  EXPECT_EQ(reread.name(), path.string());
  EXPECT_EQ(Writer::copy_of(reread).to_bytes(), bytes);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
  EXPECT_THROW(Writer::copy_of(source).write(dir.path() / "missing" / "x.gguf"), Error);
}

TEST(GgufWriter, SetReplacesInPlace) {
  Writer w;
  w.set("a", Value::of_u32(1));
  w.set("b", Value::of_u32(2));
  w.set("a", Value::of_string("x"));
  const auto bytes = w.to_bytes();
  const File file = parse(bytes);
  ASSERT_EQ(file.metadata().size(), 2u);
  EXPECT_EQ(file.metadata()[0].first, "a");
  EXPECT_EQ(file.get_string("a"), "x");
}

void expect_kind(ErrorKind kind, const std::function<void()>& call) {
  try {
    call();
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
  }
}

TEST(GgufWriter, RejectsWhatItCannotWrite) {
  std::vector<uint8_t> data(16);
  auto write = [](Writer w) { return [w] { (void)w.to_bytes(); }; };
  Writer w;
  expect_kind(ErrorKind::invalid_input, [&] { w.add_tensor("t", TensorType::f32, {5}, data); });
  expect_kind(ErrorKind::corrupt_file, [&] { w.add_tensor("t", TensorType::q4_0, {16}, data); });
  expect_kind(ErrorKind::invalid_input, [&] { w.add_tensor("", TensorType::f32, {4}, data); });
  expect_kind(ErrorKind::invalid_input, [&] { w.add_tensor("\xff", TensorType::f32, {4}, data); });
  w.add_tensor("t", TensorType::f32, {4}, data);
  expect_kind(ErrorKind::invalid_input, [&] { w.add_tensor("t", TensorType::f32, {4}, data); });

  Writer bad_alignment;
  bad_alignment.set("general.alignment", Value::of_u32(24));
  expect_kind(ErrorKind::invalid_input, write(bad_alignment));
  Writer mixed_array;
  mixed_array.set("x", Value::of_array(ValueType::u32, {Value::of_string("no")}));
  expect_kind(ErrorKind::invalid_input, write(mixed_array));
  Writer out_of_range;
  out_of_range.set("x", test::scalar_value(ValueType::u8, 256, 0, 0));
  expect_kind(ErrorKind::invalid_input, write(out_of_range));
  Writer bad_key;
  bad_key.set("\xc3", Value::of_u32(1));
  expect_kind(ErrorKind::invalid_input, write(bad_key));
  Writer version1(1);
  expect_kind(ErrorKind::invalid_input, write(version1));
}

TEST(GgufTensorBytes, ComputesAndChecksSizes) {
  EXPECT_EQ(tensor_bytes(TensorType::q4_k, std::vector<int64_t>{256, 3}), 3u * 144u);
  EXPECT_EQ(tensor_bytes(TensorType::f16, std::vector<int64_t>{7, 2, 3, 4}), 7u * 2 * 3 * 4 * 2);
  EXPECT_EQ(tensor_bytes(TensorType::mxfp4, std::vector<int64_t>{64}), 34u);
  expect_kind(ErrorKind::corrupt_file,
              [] { tensor_bytes(TensorType::q8_0, std::vector<int64_t>{33}); });
  expect_kind(ErrorKind::corrupt_file, [] {
    tensor_bytes(TensorType::f32, std::vector<int64_t>{int64_t{1} << 40, int64_t{1} << 30});
  });
  expect_kind(ErrorKind::corrupt_file, [] {
    tensor_bytes(TensorType::f32, std::vector<int64_t>{4, 0});
  });
  expect_kind(ErrorKind::corrupt_file, [] {
    tensor_bytes(TensorType::f32, std::vector<int64_t>{1, 1, 1, 1, 1});
  });
}

}  // namespace
}  // namespace hearth::gguf
