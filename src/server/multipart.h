// A streaming reader of multipart/form-data bodies (RFC 7578), for uploads that never sit whole
// in memory (POST /v1/files).
//
// The body is fed in pieces of any size, as they arrive from the socket; a boundary, a part's
// headers or the closing "--" may be split across pieces anywhere. The reader keeps only what it
// cannot decide yet: at most one piece plus a boundary's length while in a part's content, and a
// part's headers up to max_header_bytes.
//
//   preamble  --BOUNDARY\r\n  headers \r\n\r\n  content  \r\n--BOUNDARY\r\n  ...  \r\n--BOUNDARY--  epilogue
//
// Each part's headers must name the form field (Content-Disposition: form-data; name="...");
// filename is optional. Malformed input is Error(invalid_input) with what was wrong.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::server {

// The boundary of a `multipart/form-data; boundary=...` Content-Type (quoted or not).
// Error(invalid_input) when the type is another one or the boundary is missing or malformed.
std::string multipart_boundary(std::string_view content_type);

struct FormPart {
  std::string name;                     // the form field
  std::optional<std::string> filename;  // set for a file field
  std::string content_type;             // "" when the part has none
};

class MultipartReader {
 public:
  // Part headers larger than this are refused (no legitimate form needs more).
  static constexpr std::size_t max_header_bytes = 16 * 1024;

  struct Events {
    std::function<void(const FormPart&)> begin;         // a part's headers arrived
    std::function<void(std::string_view bytes)> data;   // more of its content, in order
    std::function<void()> end;                          // its content is complete
  };

  MultipartReader(std::string boundary, Events events);

  // The next piece of the body. Error(invalid_input) on malformed input; the events' own errors
  // pass through.
  void feed(std::string_view piece);
  // The body ended: Error(invalid_input) unless the closing boundary arrived.
  void finish() const;
  // Whether the closing boundary has arrived.
  bool complete() const { return state_ == State::done; }

 private:
  enum class State { preamble, after_boundary, headers, content, done };

  void parse_headers(std::string_view block);

  std::string dash_boundary_;  // "--" + boundary: the first one may open the body
  std::string delimiter_;      // "\r\n--" + boundary: every later one
  Events events_;
  State state_ = State::preamble;
  std::string pending_;        // bytes fed but not decided yet
  std::size_t header_scanned_ = 0;  // headers: bytes of pending_ searched for their end
};

}  // namespace hearth::server
