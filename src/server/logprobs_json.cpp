// See logprobs_json.h.
#include "server/logprobs_json.h"

#include <cmath>
#include <string>

#include "engine/tokenizer/utf8.h"

namespace hearth::server {
namespace json = boost::json;
namespace {

double finite(float logprob) {
  return std::isfinite(logprob) ? static_cast<double>(logprob) : -9999.0;
}

// The text of a token: its bytes with every ill-formed UTF-8 sequence as U+FFFD.
std::string token_text(const std::string& bytes) {
  return tokenizer::utf8::is_valid(bytes) ? bytes : tokenizer::utf8::sanitize(bytes);
}

json::array byte_list(const std::string& bytes) {
  json::array out;
  out.reserve(bytes.size());
  for (unsigned char b : bytes) out.emplace_back(static_cast<std::int64_t>(b));
  return out;
}

json::object token_json(const generate::TokenLogprob& t) {
  return {{"token", token_text(t.bytes)}, {"logprob", finite(t.logprob)},
          {"bytes", byte_list(t.bytes)}};
}

// Characters in a token's bytes: every byte that does not continue a UTF-8 sequence.
std::int64_t characters(const std::string& bytes) {
  std::int64_t n = 0;
  for (unsigned char b : bytes) n += (b & 0xC0) != 0x80;
  return n;
}

}  // namespace

void append_logprob_entries(json::array& out, std::span<const generate::TokenLogprobs> tokens) {
  for (const auto& t : tokens) {
    json::object entry = token_json(t.chosen);
    json::array top;
    for (const auto& alt : t.top) top.emplace_back(token_json(alt));
    entry["top_logprobs"] = std::move(top);
    out.emplace_back(std::move(entry));
  }
}

json::array logprob_entries(std::span<const generate::TokenLogprobs> tokens) {
  json::array out;
  append_logprob_entries(out, tokens);
  return out;
}

json::object completion_logprobs(std::span<const generate::TokenLogprobs> tokens,
                                 std::int64_t& offset) {
  json::array texts, logprobs, tops, offsets;
  for (const auto& t : tokens) {
    texts.emplace_back(json::string(token_text(t.chosen.bytes)));
    logprobs.emplace_back(finite(t.chosen.logprob));
    json::object top;
    // Two tokens may show as the same text: the more likely one (listed first) keeps it.
    for (const auto& alt : t.top) top.emplace(token_text(alt.bytes), finite(alt.logprob));
    tops.emplace_back(std::move(top));
    offsets.emplace_back(offset);
    offset += characters(t.chosen.bytes);
  }
  return {{"tokens", std::move(texts)},
          {"token_logprobs", std::move(logprobs)},
          {"top_logprobs", std::move(tops)},
          {"text_offset", std::move(offsets)}};
}

}  // namespace hearth::server
