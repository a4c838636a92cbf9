// The streaming multipart/form-data reader: boundaries from Content-Type, parts and their
// headers, the same body fed in every split (boundaries cut anywhere), and hostile bodies: no
// boundary, a truncated body, huge headers, parts without a name, junk after a boundary.
#include "server/multipart.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"

namespace hearth::server {
namespace {

struct Part {
  std::string name;
  std::string filename;  // "-" when the part had none
  std::string content_type;
  std::string content;
  bool ended = false;
};

// Reads `body` fed in pieces of `piece` bytes (0: all at once), recording every event.
struct Recorder {
  std::vector<Part> parts;
  MultipartReader reader;

  explicit Recorder(const std::string& boundary)
      : reader(boundary, {[this](const FormPart& p) {
                            parts.push_back({p.name, p.filename.value_or("-"), p.content_type, "", false});
                          },
                          [this](std::string_view bytes) {
                            ASSERT_FALSE(parts.empty());
                            ASSERT_FALSE(parts.back().ended);
                            parts.back().content.append(bytes);
                          },
                          [this] { parts.back().ended = true; }}) {}

  void feed(const std::string& body, std::size_t piece) {
    if (piece == 0) piece = body.size();
    for (std::size_t at = 0; at < body.size(); at += piece) reader.feed(std::string_view(body).substr(at, piece));
    reader.finish();
  }
};

// The message of the Error(invalid_input) that `fn` throws ("" and a failure when none).
template <class F>
std::string refusal(F&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "expected Error(invalid_input)";
  return {};
}

const std::string boundary = "----hearthBoundary7MA4YWxk";

std::string form(const std::string& file_content) {
  return "preamble that is ignored\r\n"
         "--" + boundary + "\r\n"
         "Content-Disposition: form-data; name=\"purpose\"\r\n"
         "\r\n"
         "fine-tune\r\n"
         "--" + boundary + "\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"train \\\"v2\\\".jsonl\"\r\n"
         "Content-Type: application/jsonl\r\n"
         "\r\n" +
         file_content + "\r\n"
         "--" + boundary + "--\r\n"
         "epilogue, also ignored";
}

TEST(MultipartBoundary, ReadFromContentType) {
  EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(multipart_boundary("Multipart/Form-Data;boundary=\"a b;c\""), "a b;c");
  EXPECT_EQ(multipart_boundary("multipart/form-data; charset=utf-8; boundary=----x"), "----x");
  EXPECT_NE(refusal([] { multipart_boundary("application/json"); }).find("multipart/form-data"), std::string::npos);
  EXPECT_NE(refusal([] { multipart_boundary("multipart/form-data"); }).find("no boundary"), std::string::npos);
  EXPECT_NE(refusal([] { multipart_boundary("multipart/form-data; boundary="); }).find("1 to"), std::string::npos);
  refusal([] { multipart_boundary("multipart/form-data; boundary=" + std::string(300, 'x')); });
  refusal([] { multipart_boundary("multipart/form-data; boundary=\"unclosed"); });
  refusal([] { multipart_boundary("multipart/form-data; boundary=a\x01" "b"); });
}

TEST(MultipartReader, EverySplitGivesTheSameParts) {
  // Content that looks like a boundary but is not one (no CRLF before it, or another suffix).
  const std::string content = "{\"messages\": []}\r\n--" + boundary.substr(0, 10) + "\r\n" +
                              "x--" + boundary + "y\n\r\n\r\n";
  const std::string body = form(content);
  for (std::size_t piece : {std::size_t{0}, std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{7},
                            boundary.size(), boundary.size() + 3, std::size_t{64}}) {
    Recorder r(boundary);
    r.feed(body, piece);
    ASSERT_EQ(r.parts.size(), 2u) << "piece " << piece;
    EXPECT_EQ(r.parts[0].name, "purpose");
    EXPECT_EQ(r.parts[0].filename, "-");
    EXPECT_EQ(r.parts[0].content, "fine-tune");
    EXPECT_EQ(r.parts[1].name, "file");
    EXPECT_EQ(r.parts[1].filename, "train \"v2\".jsonl");
    EXPECT_EQ(r.parts[1].content_type, "application/jsonl");
    EXPECT_EQ(r.parts[1].content, content) << "piece " << piece;
    EXPECT_TRUE(r.parts[0].ended && r.parts[1].ended);
    EXPECT_TRUE(r.reader.complete());
  }
}

TEST(MultipartReader, EmptyContentAndNoPreamble) {
  const std::string body = "--" + boundary + "\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--" +
                           boundary + "\r\ncontent-disposition: FORM-DATA; name=\"b\"\r\n\r\nx\r\n--" +
                           boundary + "--";
  Recorder r(boundary);
  r.feed(body, 5);
  ASSERT_EQ(r.parts.size(), 2u);
  EXPECT_EQ(r.parts[0].name, "a");
  EXPECT_EQ(r.parts[0].content, "");
  EXPECT_EQ(r.parts[1].name, "b");
  EXPECT_EQ(r.parts[1].content, "x");
}

TEST(MultipartReader, HoldsOnlyAPieceAndABoundaryOfContent) {
  // 4 MiB of content fed in 64 KiB pieces arrives in the data events as it comes, not at the end.
  Recorder r(boundary);
  r.reader.feed("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=f\r\n\r\n");
  const std::string piece(64 * 1024, 'z');
  for (int i = 0; i < 64; ++i) {
    r.reader.feed(piece);
    ASSERT_EQ(r.parts.size(), 1u);
    EXPECT_GE(r.parts[0].content.size() + boundary.size() + 4, (i + 1) * piece.size()) << i;
  }
  r.reader.feed("\r\n--" + boundary + "--");
  r.reader.finish();
  EXPECT_EQ(r.parts[0].content.size(), 64 * piece.size());
}

TEST(MultipartReader, NoBoundaryInTheBody) {
  Recorder r(boundary);
  const std::string message = refusal([&] { r.feed("just some bytes, no form at all\r\n\r\n", 4); });
  EXPECT_NE(message.find("no boundary"), std::string::npos) << message;
  EXPECT_TRUE(r.parts.empty());
}

TEST(MultipartReader, TruncatedBodies) {
  const std::string body = form("{\"a\": 1}");
  // Cut inside the headers, inside the content, inside the closing boundary, before its "--".
  for (const std::string& cut : {std::string("Content-Disposition: form-data; name=\"fi"),
                                 std::string("{\"a\""), "\r\n--" + boundary.substr(0, 5),
                                 "\r\n--" + boundary}) {
    const std::size_t at = body.rfind(cut) + cut.size();
    Recorder r(boundary);
    const std::string message = refusal([&] { r.feed(body.substr(0, at), 3); });
    EXPECT_NE(message.find("before the closing boundary"), std::string::npos) << cut << ": " << message;
    EXPECT_FALSE(r.reader.complete());
  }
}

TEST(MultipartReader, HugeHeadersAreRefusedWithoutWaitingForTheirEnd) {
  Recorder r(boundary);
  r.reader.feed("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\nX-Junk: ");
  const std::string junk(4096, 'j');
  std::string message;
  for (int i = 0; i < 8 && message.empty(); ++i) {
    try {
      r.reader.feed(junk);
    } catch (const Error& e) {
      message = e.what();
    }
  }
  EXPECT_NE(message.find("headers are larger than 16 KiB"), std::string::npos) << message;
  EXPECT_TRUE(r.parts.empty());
}

TEST(MultipartReader, PartsMustBeNamedFormData) {
  const auto one_part = [&](const std::string& headers) {
    return "--" + boundary + "\r\n" + headers + "\r\n\r\nx\r\n--" + boundary + "--";
  };
  for (const std::string& headers :
       {std::string("Content-Type: text/plain"),                 // no Content-Disposition
        std::string("Content-Disposition: form-data; filename=a"),  // no name
        std::string("Content-Disposition: attachment; name=a"),   // not form-data
        std::string("no colon on this line")}) {
    Recorder r(boundary);
    refusal([&] { r.feed(one_part(headers), 0); });
    EXPECT_TRUE(r.parts.empty()) << headers;
  }
  Recorder r(boundary);  // a part with no headers at all
  refusal([&] { r.feed("--" + boundary + "\r\n\r\nx\r\n--" + boundary + "--", 0); });
}

TEST(MultipartReader, JunkAfterABoundary) {
  Recorder r(boundary);
  const std::string message =
      refusal([&] { r.feed("--" + boundary + "XYZ\r\nContent-Disposition: form-data; name=a\r\n\r\n", 0); });
  EXPECT_NE(message.find("CRLF"), std::string::npos) << message;
}

TEST(MultipartReader, EventErrorsPassThrough) {
  MultipartReader reader(boundary, {[](const FormPart&) { throw Error(ErrorKind::io, "disk full"); }, {}, {}});
  try {
    reader.feed("--" + boundary + "\r\nContent-Disposition: form-data; name=file\r\n\r\n");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
  }
}

}  // namespace
}  // namespace hearth::server
