// The streaming multipart/form-data reader (multipart.h).
#include "server/multipart.h"
#include "server/header_text.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include "core/error.h"

namespace hearth::server {
namespace {

// RFC 2046: 1 to 70 characters; some clients go a little beyond, none near this.
constexpr std::size_t max_boundary = 200;


Error bad_form(const std::string& what) {
  return Error(ErrorKind::invalid_input, "malformed multipart/form-data body: " + what);
}

// The parameters after the first ';' of a header value: `form-data; name="file"; filename=a.txt`.
// Values may be quoted, with backslash escapes. Names come back lower-case.
std::vector<std::pair<std::string, std::string>> header_params(std::string_view value) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t at = value.find(';');
  while (at != std::string_view::npos && at < value.size()) {
    ++at;  // past ';'
    const std::size_t eq = value.find('=', at);
    const std::size_t semi = value.find(';', at);
    if (eq == std::string_view::npos || (semi != std::string_view::npos && semi < eq)) {
      at = semi;  // a parameter without a value: skipped
      continue;
    }
    std::string name = lower(trim(value.substr(at, eq - at)));
    std::size_t i = eq + 1;
    while (i < value.size() && (value[i] == ' ' || value[i] == '\t')) ++i;
    std::string text;
    if (i < value.size() && value[i] == '"') {
      ++i;
      bool closed = false;
      for (; i < value.size(); ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) {
          text += value[++i];
        } else if (value[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          text += value[i];
        }
      }
      if (!closed) throw bad_form("a quoted header parameter is not closed");
      at = value.find(';', i);
    } else {
      const std::size_t end = value.find(';', i);
      text = std::string(trim(value.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i)));
      at = end;
    }
    out.emplace_back(std::move(name), std::move(text));
  }
  return out;
}

}  // namespace

std::string multipart_boundary(std::string_view content_type) {
  const std::string type = lower(trim(content_type.substr(0, content_type.find(';'))));
  if (type != "multipart/form-data")
    throw Error(ErrorKind::invalid_input,
                "the request must be multipart/form-data (got Content-Type '" + std::string(content_type) + "')");
  for (auto& [name, value] : header_params(content_type)) {
    if (name != "boundary") continue;
    if (value.empty() || value.size() > max_boundary)
      throw Error(ErrorKind::invalid_input, "the multipart boundary must be 1 to " +
                                                std::to_string(max_boundary) + " characters");
    for (char c : value)
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
        throw Error(ErrorKind::invalid_input, "the multipart boundary has a control or non-ASCII character");
    return value;
  }
  throw Error(ErrorKind::invalid_input, "the multipart/form-data Content-Type names no boundary");
}

MultipartReader::MultipartReader(std::string boundary, Events events)
    : dash_boundary_("--" + boundary), delimiter_("\r\n--" + boundary), events_(std::move(events)) {}

void MultipartReader::feed(std::string_view piece) {
  pending_.append(piece);
  for (;;) {
    switch (state_) {
      case State::preamble: {
        // The first boundary opens the body, or ends a preamble that is ignored.
        const std::size_t at = pending_.find(dash_boundary_);
        if (at == std::string::npos) {
          if (pending_.size() >= dash_boundary_.size())
            pending_.erase(0, pending_.size() - (dash_boundary_.size() - 1));
          return;
        }
        pending_.erase(0, at + dash_boundary_.size());
        state_ = State::after_boundary;
        break;
      }
      case State::after_boundary: {
        // "--" closes the body; otherwise optional spaces (transport padding), then CRLF.
        if (pending_.size() < 2) return;
        if (pending_.compare(0, 2, "--") == 0) {
          pending_.clear();
          state_ = State::done;
          return;
        }
        std::size_t i = 0;
        while (i < pending_.size() && (pending_[i] == ' ' || pending_[i] == '\t')) ++i;
        if (i > 1024) throw bad_form("a boundary line goes on and on");
        if (pending_.size() < i + 2) return;
        if (pending_.compare(i, 2, "\r\n") != 0) throw bad_form("a boundary line does not end with CRLF");
        pending_.erase(0, i + 2);
        state_ = State::headers;
        break;
      }
      case State::headers: {
        // No headers at all is an empty line right away.
        // The search starts where the last one stopped (less the 3 bytes of an end it may have
        // cut): headers arriving a few bytes at a time cost their length once.
        std::size_t end = pending_.rfind("\r\n", 0) == 0
                              ? 0
                              : pending_.find("\r\n\r\n", header_scanned_ > 3 ? header_scanned_ - 3 : 0);
        if (end == std::string::npos) {
          if (pending_.size() > max_header_bytes)
            throw bad_form("a part's headers are larger than " + std::to_string(max_header_bytes / 1024) + " KiB");
          header_scanned_ = pending_.size();
          return;
        }
        header_scanned_ = 0;
        if (end > max_header_bytes)
          throw bad_form("a part's headers are larger than " + std::to_string(max_header_bytes / 1024) + " KiB");
        parse_headers(std::string_view(pending_).substr(0, end));
        pending_.erase(0, end == 0 ? 2 : end + 4);
        state_ = State::content;
        break;
      }
      case State::content: {
        const std::size_t at = pending_.find(delimiter_);
        if (at == std::string::npos) {
          // Everything but a tail that may be the start of a delimiter is content.
          if (pending_.size() >= delimiter_.size()) {
            const std::size_t sure = pending_.size() - (delimiter_.size() - 1);
            if (events_.data) events_.data(std::string_view(pending_).substr(0, sure));
            pending_.erase(0, sure);
          }
          return;
        }
        if (at > 0 && events_.data) events_.data(std::string_view(pending_).substr(0, at));
        if (events_.end) events_.end();
        pending_.erase(0, at + delimiter_.size());
        state_ = State::after_boundary;
        break;
      }
      case State::done:
        pending_.clear();  // the epilogue is ignored
        return;
    }
  }
}

void MultipartReader::finish() const {
  if (state_ == State::done) return;
  if (state_ == State::preamble) throw bad_form("no boundary line was found");
  throw bad_form("the body ended before the closing boundary (was the upload cut short?)");
}

void MultipartReader::parse_headers(std::string_view block) {
  FormPart part;
  bool named = false;
  while (!block.empty()) {
    const std::size_t eol = block.find("\r\n");
    const std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) throw bad_form("a part header has no name");
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-type") {
      part.content_type = std::string(value);
    } else if (name == "content-disposition") {
      if (lower(trim(value.substr(0, value.find(';')))) != "form-data")
        throw bad_form("a part's Content-Disposition is not form-data");
      for (auto& [key, text] : header_params(value)) {
        if (key == "name") {
          part.name = std::move(text);
          named = true;
        } else if (key == "filename") {
          part.filename = std::move(text);
        }
      }
    }
  }
  if (!named) throw bad_form("a part has no Content-Disposition with the field's name");
  if (events_.begin) events_.begin(part);
}

}  // namespace hearth::server
