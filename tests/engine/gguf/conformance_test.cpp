// Reads every GGUF file of the conformance pack, checks it against models/models.json and checks
// that writing it back gives the same bytes.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "engine/gguf/gguf.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth::gguf {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

json::value models_json(const fs::path& dir) {
  return test::json_from(test::read_file(dir / "models" / "models.json"));
}

std::vector<std::string> tokenizer_keys(const File& file) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : file.metadata())
    if (key.starts_with("tokenizer.")) keys.push_back(key);
  return keys;
}

void expect_value_matches(const File& file, const std::string& key, const json::value& expected) {
  SCOPED_TRACE(file.name() + " key " + key);
  const Value* v = file.find(key);
  ASSERT_NE(v, nullptr);
  if (expected.is_string()) {
    EXPECT_EQ(file.get_string(key), json::value_to<std::string>(expected));
  } else if (expected.is_bool()) {
    EXPECT_EQ(file.get_bool(key), expected.get_bool());
  } else if (expected.is_int64() || expected.is_uint64()) {
    EXPECT_EQ(file.get_int(key), expected.to_number<int64_t>());
  } else if (expected.is_double()) {
    EXPECT_EQ(file.get_float(key), expected.get_double());
  } else {
    ADD_FAILURE() << "unexpected JSON value " << format_json(expected);
  }
}

TEST(GgufConformance, ModelsMatchModelsJson) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const File vocab = File::open(dir / "tokenizer" / "ggml-vocab-tiny-spm.gguf");
  const json::array models = models_json(dir).at("models").as_array();
  ASSERT_EQ(models.size(), 11u);
  for (const json::value& model : models) {
    const std::string file_name = json::value_to<std::string>(model.at("file"));
    SCOPED_TRACE(file_name);
    const File file = File::open(dir / "models" / file_name);
    EXPECT_EQ(file.version(), 3u);
    EXPECT_EQ(file.alignment(), 32u);
    EXPECT_EQ(file.file_size(), model.at("bytes").to_number<uint64_t>());
    EXPECT_EQ(file.data_offset() % 32, 0u);

    // Every key is either in models.json's metadata, general.architecture, or one of the
    // vocabulary's tokenizer.* keys.
    EXPECT_EQ(file.get_string("general.architecture"),
              json::value_to<std::string>(model.at("architecture")));
    // (Each key is checked on its own, so the order Boost.JSON keeps them in does not matter.)
    const json::object& metadata = model.at("metadata").as_object();
    for (const auto& member : metadata)
      expect_value_matches(file, std::string(member.key()), member.value());
    for (const auto& member : model.at("tokenizer").as_object())
      if (member.key().starts_with("tokenizer."))
        expect_value_matches(file, std::string(member.key()), member.value());
    EXPECT_EQ(tokenizer_keys(file), tokenizer_keys(vocab));
    EXPECT_EQ(file.metadata().size(), metadata.size() + 1 + tokenizer_keys(vocab).size());
    const Value* tokens = file.get_array("tokenizer.ggml.tokens", ValueType::string);
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(tokens->items.size(), model.at_pointer("/tokenizer/n_vocab").to_number<size_t>());

    const json::array& tensors = model.at("tensors").as_array();
    ASSERT_EQ(file.tensors().size(), tensors.size());
    std::map<std::string, int> type_counts;
    for (size_t k = 0; k < tensors.size(); ++k) {
      const TensorInfo& t = file.tensors()[k];
      const json::array& expected = tensors[k].as_array();
      EXPECT_EQ(t.name, json::value_to<std::string>(expected.at(0)));
      EXPECT_EQ(tensor_type_name(t.type), json::value_to<std::string>(expected.at(1)));
      EXPECT_EQ(t.ne, json::value_to<std::vector<int64_t>>(expected.at(2)));
      EXPECT_EQ(file.find_tensor(t.name), &t);
      EXPECT_EQ(file.tensor_data(t).size(), t.n_bytes);
      ++type_counts[std::string(tensor_type_name(t.type))];
    }
    EXPECT_EQ(json::value_from(type_counts), model.at("tensor_type_counts"));
  }
}

TEST(GgufConformance, ReadsEveryVocabulary) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir / "tokenizer")) {
    if (entry.path().extension() != ".gguf") continue;
    SCOPED_TRACE(entry.path().string());
    const File file = File::open(entry.path());
    EXPECT_TRUE(file.tensors().empty());
    EXPECT_TRUE(file.get_string("tokenizer.ggml.model").has_value());
    const Value* tokens = file.get_array("tokenizer.ggml.tokens", ValueType::string);
    ASSERT_NE(tokens, nullptr);
    EXPECT_GE(tokens->items.size(), 1000u);
    const Value* types = file.get_array("tokenizer.ggml.token_type", ValueType::i32);
    ASSERT_NE(types, nullptr);
    EXPECT_EQ(types->items.size(), tokens->items.size());
    ++files;
  }
  EXPECT_EQ(files, 8);
  const File tiny = File::open(dir / "tokenizer" / "ggml-vocab-tiny-spm.gguf");
  const Value* tokens = tiny.get_array("tokenizer.ggml.tokens", ValueType::string);
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->items.size(), 1000u);
  EXPECT_EQ(tokens->items[1].s, "<s>");
  EXPECT_EQ(tokens->items[3].s, "<0x00>");
  EXPECT_EQ(tiny.get_int("tokenizer.ggml.bos_token_id"), 1);
  EXPECT_EQ(tiny.get_bool("tokenizer.ggml.add_eos_token"), false);
  EXPECT_EQ(tiny.get_array("tokenizer.ggml.scores", ValueType::f32)->items[300].f, -41.0);
}

// The vocabularies from llama.cpp's repository end right after their tensor infos, while newer
// files (tiny-spm, the models) pad the empty data section; copy_of keeps whichever the file had,
// so every file must come back byte for byte.
TEST(GgufConformance, WriterRoundTripsEveryFileByteForByte) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto files = test::conformance_gguf_files(dir);
  ASSERT_EQ(files.size(), 19u);
  for (const fs::path& path : files) {
    SCOPED_TRACE(path.string());
    const File file = File::open(path);
    const std::vector<uint8_t> written = Writer::copy_of(file).to_bytes();
    const std::string original = test::read_file(path);
    ASSERT_EQ(written.size(), original.size());
    EXPECT_TRUE(std::equal(written.begin(), written.end(),
                           reinterpret_cast<const uint8_t*>(original.data())));
  }
}

}  // namespace
}  // namespace hearth::gguf
