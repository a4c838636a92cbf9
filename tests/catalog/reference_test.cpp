// Model references: parsing good and bad text, and resolving catalog names to downloads.
#include <gtest/gtest.h>

#include <fstream>

#include "catalog/catalog.h"
#include "core/error.h"
#include "support/test_support.h"

namespace hearth::catalog {
namespace {

ErrorKind kind_of(std::string_view text) {
  try {
    parse_reference(text);
  } catch (const Error& e) {
    return e.kind();
  }
  return ErrorKind::internal;  // no error: the tests below never expect this
}

std::string message_of(std::string_view text) {
  try {
    parse_reference(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Reference, NameWithoutTagMeansTheDefault) {
  auto ref = std::get<NamedRef>(parse_reference("fast-assistant"));
  EXPECT_EQ(ref.name, "fast-assistant");
  EXPECT_EQ(ref.tag, "q4_k_m");
  EXPECT_FALSE(ref.tag_given);
}

TEST(Reference, NameWithTagIsLowerCased) {
  auto ref = std::get<NamedRef>(parse_reference("Fast-Assistant:Q8_0"));
  EXPECT_EQ(ref.name, "fast-assistant");
  EXPECT_EQ(ref.tag, "q8_0");
  EXPECT_TRUE(ref.tag_given);
  EXPECT_EQ(to_string(ModelReference(ref)), "fast-assistant:q8_0");
  EXPECT_EQ(std::get<NamedRef>(parse_reference("qwen2.5-0.5b-instruct")).name,
            "qwen2.5-0.5b-instruct");
}

TEST(Reference, HuggingFaceFile) {
  auto ref = std::get<HuggingFaceRef>(parse_reference(
      "hf://bartowski/Llama-3.2-1B-Instruct-GGUF/Llama-3.2-1B-Instruct-Q4_K_M.gguf"));
  EXPECT_EQ(ref.repo, "bartowski/Llama-3.2-1B-Instruct-GGUF");
  EXPECT_EQ(ref.file, "Llama-3.2-1B-Instruct-Q4_K_M.gguf");
  auto nested = std::get<HuggingFaceRef>(parse_reference("hf://o/r/sub/dir/m.GGUF"));
  EXPECT_EQ(nested.file, "sub/dir/m.GGUF");
  Download d = resolve(ref);
  EXPECT_EQ(d.url,
            "https://huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/"
            "Llama-3.2-1B-Instruct-Q4_K_M.gguf");
  EXPECT_EQ(d.size_bytes, 0u);
}

TEST(Reference, Urls) {
  EXPECT_EQ(std::get<UrlRef>(parse_reference("https://example.com/m.gguf")).url,
            "https://example.com/m.gguf");
  EXPECT_EQ(std::get<UrlRef>(parse_reference("http://127.0.0.1:8080/x")).url,
            "http://127.0.0.1:8080/x");
}

TEST(Reference, ExistingLocalFile) {
  test::TempDir tmp;
  const auto file = tmp.path() / "model.gguf";
  std::ofstream(file) << "GGUF";
  auto ref = std::get<LocalFileRef>(parse_reference(file.string()));
  EXPECT_EQ(ref.path, file);
  EXPECT_TRUE(ref.path.is_absolute());
}

TEST(Reference, MissingLocalFileIsNotFound) {
  EXPECT_EQ(kind_of("/no/such/dir/model.gguf"), ErrorKind::not_found);
  EXPECT_EQ(kind_of("no-such-model-file.gguf"), ErrorKind::not_found);
  test::TempDir tmp;
  EXPECT_EQ(kind_of(tmp.path().string()), ErrorKind::not_found);  // a folder, not a file
}

TEST(Reference, BadTextSaysWhatWasExpected) {
  for (const char* bad :
       {"", "fast assistant", "fast-assistant:", ":q8_0", "a:b:c", "-lead", "hf://owner/repo",
        "hf://owner//file.gguf", "hf://o/r/file.bin", "hf://o/r/../x.gguf", "https://",
        "https:///path", "ftp://host/x.gguf", "caf\xc3\xa9", "x:t@g"}) {
    EXPECT_EQ(kind_of(bad), ErrorKind::invalid_input) << "'" << bad << "'";
    EXPECT_NE(message_of(bad).find("expected NAME[:TAG]"), std::string::npos) << message_of(bad);
  }
}

TEST(Resolve, CatalogNameGivesTheHuggingFaceDownload) {
  const Catalog c = Catalog::builtin();
  Download d = resolve(c, std::get<NamedRef>(parse_reference("fast-assistant")));
  EXPECT_EQ(d.url,
            "https://huggingface.co/bartowski/Llama-3.2-3B-Instruct-GGUF/resolve/main/"
            "Llama-3.2-3B-Instruct-Q4_K_M.gguf");
  EXPECT_EQ(d.file_name, "Llama-3.2-3B-Instruct-Q4_K_M.gguf");
  EXPECT_GT(d.size_bytes, 1'000'000'000u);
  Download q8 = resolve(c, std::get<NamedRef>(parse_reference("fast-assistant:q8_0")));
  EXPECT_NE(q8.url.find("Q8_0.gguf"), std::string::npos);
  EXPECT_GT(q8.size_bytes, d.size_bytes);
}

TEST(Resolve, StarterResolvesWithAnExactSize) {
  const Catalog c = Catalog::builtin();
  NamedRef ref{c.starter().id, "q4_k_m", false};
  Download d = resolve(c, ref);
  EXPECT_TRUE(d.url.starts_with("https://huggingface.co/"));
  EXPECT_FALSE(d.size_estimated);
}

TEST(Resolve, UnknownNameOrTagIsNotFoundAndListsChoices) {
  const Catalog c = Catalog::builtin();
  try {
    resolve(c, NamedRef{"no-such-model", "q4_k_m", false});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find("reasoning-master"), std::string::npos) << e.what();
  }
  try {
    resolve(c, NamedRef{"fast-assistant", "q2_k", true});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find("q8_0"), std::string::npos) << e.what();
  }
}

TEST(Resolve, UrlEscapesOddCharacters) {
  EXPECT_EQ(huggingface_url("o/r", "dir/my model+1.gguf"),
            "https://huggingface.co/o/r/resolve/main/dir/my%20model%2B1.gguf");
}

}  // namespace
}  // namespace hearth::catalog
