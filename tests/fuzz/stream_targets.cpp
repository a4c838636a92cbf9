// Readers of bodies that arrive in pieces: a remote engine's SSE answer (SseReader) and the
// multipart upload of /v1/files (MultipartReader). Both are fed each input twice, whole and cut
// at random places; the oracle is that nothing but the documented errors escapes and that both
// readings agree (a boundary or a line split across pieces reads the same), plus each reader's
// own invariants.
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz/fuzz.h"
#include "server/multipart.h"
#include "server/remote_engines_stream.h"

namespace hearth::fuzz {
namespace {

// `text` cut into pieces at random places (sometimes one byte at a time).
std::vector<std::string_view> pieces(std::string_view text, Rng& rng) {
  std::vector<std::string_view> out;
  const bool bytewise = rng.one_in(8);
  while (!text.empty()) {
    const std::size_t n = bytewise ? 1 : 1 + rng.below(std::min<std::size_t>(text.size(), 64));
    out.push_back(text.substr(0, n));
    text.remove_prefix(n);
  }
  return out;
}

// ---- SSE ----------------------------------------------------------------------------------------

struct SseResult {
  std::vector<std::string> tokens;
  std::string finish_reason, error;
  int prompt_tokens = 0, completion_tokens = 0, tokens_seen = 0;
  bool ended = false;
  bool operator==(const SseResult&) const = default;
};

SseResult read_sse(const std::vector<std::string_view>& parts) {
  SseResult r;
  server::remote_detail::SseReader reader([&r](std::string t) { r.tokens.push_back(std::move(t)); });
  for (std::string_view p : parts) reader.feed(p);
  reader.finish();
  r.finish_reason = reader.finish_reason();
  r.error = reader.error();
  r.prompt_tokens = reader.prompt_tokens();
  r.completion_tokens = reader.completion_tokens();
  r.tokens_seen = reader.tokens_seen();
  r.ended = reader.ended();
  return r;
}

class SseTarget : public Target {
 public:
  std::string name() const override { return "sse"; }
  std::vector<std::string> seeds() override {
    return {
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n"
        "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n"
        "data: [DONE]\n\n",
        ": keep-alive\r\nevent: message\r\ndata:{\"choices\":[{\"text\":\"once\",\"finish_reason\":\"length\"}]}\r\n\r\n",
        "data: {\"error\":{\"message\":\"model overloaded\",\"type\":\"server_error\"}}\n\n",
        "data: {\"choices\":[{\"delta\":{\"content\":\"\xC3\xA9t\xC3\xA9\"}}]}\ndata: [DONE]",
    };
  }
  std::string mutate(const std::string& seed, Rng& rng) override {
    // Mostly one data line's JSON changed, else bytes anywhere.
    if (rng.one_in(3)) return mutate_bytes(seed, rng);
    const auto at = seed.find("data: {", rng.below(seed.size()));
    const auto from = at == std::string::npos ? seed.find("data: {") : at;
    if (from == std::string::npos) return mutate_bytes(seed, rng);
    const auto end = seed.find('\n', from);
    const std::string json = seed.substr(from + 6, end == std::string::npos ? std::string::npos : end - from - 6);
    std::string out = seed.substr(0, from + 6) + mutate_json(json, rng);
    if (end != std::string::npos) out += seed.substr(end);
    return out;
  }
  Outcome run(const std::string& input, Rng& rng) override {
    const SseResult whole = read_sse({input});
    const SseResult cut = read_sse(pieces(input, rng));
    server::remote_detail::error_text(input);
    Outcome o;
    o.label = whole.ended ? "ended" : whole.error.empty() ? "open" : "error";
    if (!(whole == cut)) o.failure = "the answer reads differently when cut into other pieces";
    else if (whole.tokens_seen != static_cast<int>(whole.tokens.size()))
      o.failure = "tokens_seen disagrees with the tokens delivered";
    return o;
  }
};

// ---- multipart -----------------------------------------------------------------------------------

struct FormResult {
  std::vector<std::string> events;  // "begin NAME FILENAME TYPE", "data ...", "end"
  std::string error;                // "" when the body was read to its end
  bool operator==(const FormResult&) const = default;
};

FormResult read_form(const std::string& boundary, const std::vector<std::string_view>& parts,
                     std::string* invariant) {
  FormResult r;
  bool in_part = false;
  std::string data;
  server::MultipartReader::Events events;
  events.begin = [&](const server::FormPart& p) {
    if (in_part) *invariant = "a part began inside another";
    in_part = true;
    r.events.push_back("begin " + p.name + " " + p.filename.value_or("-") + " " + p.content_type);
  };
  events.data = [&](std::string_view bytes) {
    if (!in_part) *invariant = "content arrived outside a part";
    data.append(bytes);
  };
  events.end = [&] {
    if (!in_part) *invariant = "a part ended that had not begun";
    in_part = false;
    r.events.push_back("data " + data);  // pieces of content joined: only the bytes count
    data.clear();
    r.events.push_back("end");
  };
  server::MultipartReader reader(boundary, events);
  try {
    for (std::string_view p : parts) reader.feed(p);
    reader.finish();
    if (in_part) *invariant = "the body was complete with a part still open";
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_input)
      *invariant = std::string("Error(") + std::string(error_kind_name(e.kind())) + "): " + e.what();
    r.error = e.what();
  }
  return r;
}

class MultipartTarget : public Target {
 public:
  std::string name() const override { return "multipart"; }
  // An input is the Content-Type, a newline, then the body.
  std::vector<std::string> seeds() override {
    const std::string b = "XyZ-boundary";
    return {
        "multipart/form-data; boundary=" + b + "\n--" + b +
            "\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nfine-tune\r\n--" + b +
            "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jsonl\"\r\nContent-Type: "
            "application/jsonl\r\n\r\n{\"messages\":[]}\n\r\n--" + b + "--\r\n",
        "multipart/form-data; boundary=\"quoted b\"\npreamble\r\n--quoted b\r\ncontent-disposition: "
        "form-data; name=file; filename=\"x\"\r\n\r\n\r\n--quoted b\r\n--quoted b--",
        "multipart/form-data; boundary=" + b + "\n--" + b +
            "\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\n--" + b + "-almost\r\n--" + b + "--",
    };
  }
  std::string mutate(const std::string& seed, Rng& rng) override {
    const auto nl = seed.find('\n');
    if (nl == std::string::npos || rng.one_in(6)) return mutate_bytes(seed, rng, seed);
    return seed.substr(0, nl + 1) + mutate_bytes(seed.substr(nl + 1), rng, seed);
  }
  Outcome run(const std::string& input, Rng& rng) override {
    const auto nl = input.find('\n');
    const std::string type = input.substr(0, nl);
    const std::string_view body = nl == std::string::npos ? std::string_view() : std::string_view(input).substr(nl + 1);
    Outcome o;
    std::string boundary;
    try {
      boundary = server::multipart_boundary(type);
    } catch (const Error& e) {
      o.label = "bad type";
      if (e.kind() != ErrorKind::invalid_input)
        o.failure = std::string("multipart_boundary: Error(") + std::string(error_kind_name(e.kind())) + ")";
      return o;
    }
    std::string invariant;
    const FormResult whole = read_form(boundary, {body}, &invariant);
    const FormResult cut = read_form(boundary, pieces(body, rng), &invariant);
    o.label = whole.error.empty() ? "read" : "refused";
    if (!invariant.empty()) o.failure = invariant;
    else if (!(whole == cut)) o.failure = "the body reads differently when cut into other pieces";
    return o;
  }
};

}  // namespace

std::unique_ptr<Target> make_sse_target() { return std::make_unique<SseTarget>(); }
std::unique_ptr<Target> make_multipart_target() { return std::make_unique<MultipartTarget>(); }

}  // namespace hearth::fuzz
