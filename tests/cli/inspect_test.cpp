// Runs the real `hearth inspect` binary on the conformance files and on damaged copies.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "engine/gguf/gguf.h"
#include "support/json_test_util.h"
#include "support/test_support.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using test::json_from;

using test::CommandResult;

CommandResult inspect(const fs::path& file, bool as_json) {
  std::vector<std::string> args = {"inspect", file.string()};
  if (as_json) args.push_back("--json");
  return test::run_hearth(args);
}

void write_bytes(const fs::path& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

TEST(InspectCommand, JsonDescribesEveryConformanceFile) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const auto files = test::conformance_gguf_files(dir);
  ASSERT_FALSE(files.empty());
  for (const fs::path& path : files) {
    SCOPED_TRACE(path.string());
    const CommandResult run = inspect(path, true);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const json::value j = json_from(run.out);
    const gguf::File file = gguf::File::open(path);
    EXPECT_EQ(j.at("file").as_string(), path.string());
    EXPECT_EQ(j.at("version"), json::value(3));
    EXPECT_EQ(j.at("file_size"), json::value(file.file_size()));
    EXPECT_EQ(j.at("tensor_count"), json::value(file.tensors().size()));
    ASSERT_EQ(j.at("tensors").as_array().size(), file.tensors().size());
    EXPECT_EQ(j.at("metadata_count"), json::value(file.metadata().size()));
    EXPECT_EQ(j.at("metadata").as_array().size(), file.metadata().size());
    uint64_t parameters = 0;
    for (size_t k = 0; k < file.tensors().size(); ++k) {
      const auto& t = file.tensors()[k];
      const json::value& tensor = j.at("tensors").at(k);
      EXPECT_EQ(tensor.at("name").as_string(), t.name);
      EXPECT_EQ(json::value_to<std::vector<int64_t>>(tensor.at("shape")), t.ne);
      EXPECT_EQ(tensor.at("bytes"), json::value(t.n_bytes));
      parameters += static_cast<uint64_t>(t.n_elements());
    }
    EXPECT_EQ(j.at("parameter_count"), json::value(parameters));
  }
}

TEST(InspectCommand, JsonNamesFileTypeAndShortensArrays) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  const CommandResult run = inspect(dir / "models" / "quant-base-q4_k_m.gguf", true);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json::value j = json_from(run.out);
  EXPECT_EQ(j.at_pointer("/file_type/name").as_string(), "MOSTLY_Q4_K_M");
  EXPECT_EQ(j.at_pointer("/file_type/id"), json::value(15));
  EXPECT_EQ(j.at("most_common_tensor_type").as_string(), "Q4_K");
  EXPECT_EQ(j.at("tensor_type_counts"), (json::value{{"F32", 5}, {"Q4_K", 12}, {"Q6_K", 3}}));
  for (const json::value& entry : j.at("metadata").as_array()) {
    if (entry.at("key") != json::value("tokenizer.ggml.tokens")) continue;
    EXPECT_EQ(entry.at("count"), json::value(1000));
    EXPECT_EQ(entry.at("truncated"), json::value(true));
    EXPECT_EQ(entry.at("value").at(1).as_string(), "<s>");
    EXPECT_LT(entry.at("value").as_array().size(), 1000u);
  }
}

TEST(InspectCommand, TextShowsTablesForEveryConformanceFile) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  for (const fs::path& path : test::conformance_gguf_files(dir)) {
    SCOPED_TRACE(path.string());
    const CommandResult run = inspect(path, false);
    ASSERT_EQ(run.exit_code, 0) << run.err;
    const gguf::File file = gguf::File::open(path);
    EXPECT_NE(run.out.find("tensors (" + std::to_string(file.tensors().size()) + ")"),
              std::string::npos);
    EXPECT_NE(run.out.find("metadata (" + std::to_string(file.metadata().size()) + " keys)"),
              std::string::npos);
  }
  const CommandResult q4 = inspect(dir / "models" / "quant-base-q4_k_m.gguf", false);
  for (const char* expected :
       {"file type:   MOSTLY_Q4_K_M (15); most tensors Q4_K (12 of 20)", "parameters:  1.83M",
        "... (1000 items)]", "256 x 1000", "blk.1.ffn_down.weight", "Q6_K"})
    EXPECT_NE(q4.out.find(expected), std::string::npos) << expected << "\n" << q4.out;
}

TEST(InspectCommand, TruncatedConformanceFileFails) {
  HEARTH_REQUIRE_CONFORMANCE(dir);
  test::TempDir tmp;
  const std::string bytes = test::read_file(dir / "models" / "llama-gqa-f32.gguf");
  const fs::path cut = tmp.path() / "cut.gguf";
  for (size_t size : {size_t{10}, size_t{5000}, bytes.size() / 2}) {
    SCOPED_TRACE(size);
    write_bytes(cut, std::string_view(bytes).substr(0, size));
    const CommandResult run = inspect(cut, true);
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_TRUE(run.out.empty());
    EXPECT_NE(run.err.find("hearth: " + cut.string() + ": "), std::string::npos) << run.err;
  }
  EXPECT_NE(inspect(cut, false).err.find("extend past the end of the file"), std::string::npos);
}

TEST(InspectCommand, DamagedHandBuiltFilesFailWithTheReadersMessage) {
  test::TempDir tmp;
  gguf::Writer writer;
  writer.set("general.name", gguf::Value::of_string("tiny"));
  std::vector<uint8_t> bytes = writer.to_bytes();
  const fs::path path = tmp.path() / "bad.gguf";
  // The string length of general.name sits after the header (24 bytes), key (8 + 12), type (4).
  std::fill_n(bytes.begin() + 48, 8, 0xFF);
  write_bytes(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  CommandResult run = inspect(path, false);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find(path.string() +
                         ": metadata key 'general.name': string length 18446744073709551615 "
                         "exceeds the"),
            std::string::npos)
      << run.err;

  bytes[4] = 1;  // version 1: unsupported, exit code 2
  write_bytes(path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  run = inspect(path, false);
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_NE(run.err.find("version 1 is no longer supported"), std::string::npos) << run.err;

  run = inspect(tmp.path() / "absent.gguf", false);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_NE(run.err.find("absent.gguf"), std::string::npos) << run.err;
}

TEST(InspectCommand, HandBuiltFileWithoutConformanceData) {
  test::TempDir tmp;
  gguf::Writer writer;
  writer.set("general.file_type", gguf::Value::of_u32(1));
  std::vector<uint8_t> data(64 * 2 * 2, 0);
  writer.add_tensor("w", gguf::TensorType::f16, {64, 2}, data);
  const fs::path path = tmp.path() / "small.gguf";
  writer.write(path);
  const CommandResult run = inspect(path, true);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const json::value j = json_from(run.out);
  EXPECT_EQ(j.at_pointer("/file_type/name").as_string(), "MOSTLY_F16");
  EXPECT_EQ(j.at("parameter_count"), json::value(128));
  EXPECT_EQ(j.at("parameter_count_text").as_string(), "128");
  EXPECT_EQ(j.at_pointer("/tensors/0/type").as_string(), "F16");
}

TEST(InspectCommand, TextEscapesControlBytesAndCutsLongStrings) {
  test::TempDir tmp;
  gguf::Writer writer;
  writer.set("x.escape", gguf::Value::of_string("a\x1b[31mred"));
  writer.set("x.long", gguf::Value::of_string(std::string(500, 'z')));
  const fs::path path = tmp.path() / "strings.gguf";
  writer.write(path);
  const CommandResult run = inspect(path, false);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out.find('\x1b'), std::string::npos);
  EXPECT_NE(run.out.find("\"a\\x1b[31mred\""), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\"... (500 bytes)"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find(std::string(100, 'z')), std::string::npos);
}

}  // namespace
}  // namespace hearth
