#include "core/tzif.h"

#include "core/error.h"

namespace hearth {
namespace {

// Reads big-endian fields from the file's bytes; every read checks that the bytes are there.
class Reader {
 public:
  Reader(std::string_view bytes, const std::string& source) : bytes_(bytes), source_(source) {}

  std::string_view take(size_t n, const char* what) {
    if (n > bytes_.size() - pos_) fail(std::string("truncated (") + what + ")");
    auto out = bytes_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  uint8_t u8(const char* what) { return static_cast<uint8_t>(take(1, what)[0]); }
  int64_t be(size_t width, const char* what) {
    auto b = take(width, what);
    uint64_t v = 0;
    for (char c : b) v = (v << 8) | static_cast<uint8_t>(c);
    if (width == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));  // sign of 32-bit times
    return static_cast<int64_t>(v);
  }
  size_t remaining() const { return bytes_.size() - pos_; }
  std::string_view rest() const { return bytes_.substr(pos_); }

  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::corrupt_file, source_ + ": not a valid time zone file: " + why);
  }

 private:
  std::string_view bytes_;
  const std::string& source_;
  size_t pos_ = 0;
};

struct Counts {
  int version = 1;
  uint32_t isut = 0, isstd = 0, leap = 0, time = 0, type = 0, chars = 0;
};

Counts read_header(Reader& in) {
  if (in.take(4, "header") != "TZif") in.fail("no TZif header");
  Counts c;
  const uint8_t v = in.u8("header");
  if (v == 0)
    c.version = 1;
  else if (v >= '2' && v <= '9')
    c.version = v - '0';
  else
    in.fail("unknown version byte");
  in.take(15, "header");
  c.isut = static_cast<uint32_t>(in.be(4, "header"));
  c.isstd = static_cast<uint32_t>(in.be(4, "header"));
  c.leap = static_cast<uint32_t>(in.be(4, "header"));
  c.time = static_cast<uint32_t>(in.be(4, "header"));
  c.type = static_cast<uint32_t>(in.be(4, "header"));
  c.chars = static_cast<uint32_t>(in.be(4, "header"));
  if (c.type == 0 || c.type > 256) in.fail("local time type count out of range");
  if (c.chars == 0) in.fail("no time zone abbreviations");
  if ((c.isstd != 0 && c.isstd != c.type) || (c.isut != 0 && c.isut != c.type))
    in.fail("indicator counts do not match the local time types");
  return c;
}

// One data block: `width` is 4 for the version 1 block, 8 for the version 2+ block.
TzifData read_block(Reader& in, const Counts& c, size_t width) {
  // The counts come from the file: check the whole block is there before sizing anything by them.
  const uint64_t block_bytes = uint64_t{c.time} * (width + 1) + uint64_t{c.type} * 6 + c.chars +
                               uint64_t{c.leap} * (width + 4) + c.isstd + c.isut;
  if (block_bytes > in.remaining()) in.fail("truncated (data block)");
  TzifData d;
  d.version = c.version;
  d.transitions.reserve(c.time);
  for (uint32_t i = 0; i < c.time; ++i) {
    d.transitions.push_back(in.be(width, "transition times"));
    if (i > 0 && d.transitions[i] <= d.transitions[i - 1]) in.fail("transition times out of order");
  }
  for (uint32_t i = 0; i < c.time; ++i) {
    d.transition_types.push_back(in.u8("transition types"));
    if (d.transition_types.back() >= c.type)
      in.fail("transition names a local time type that is not there");
  }
  std::vector<uint8_t> abbreviation_index;
  for (uint32_t i = 0; i < c.type; ++i) {
    TzifLocalType t;
    t.utc_offset = static_cast<int32_t>(in.be(4, "local time types"));
    // RFC 8536: -2^31 is not allowed; real offsets stay within a day anyway.
    if (t.utc_offset <= -86400 || t.utc_offset >= 86400) in.fail("UTC offset out of range");
    const uint8_t dst = in.u8("local time types");
    if (dst > 1) in.fail("daylight-saving flag is not 0 or 1");
    t.is_dst = dst == 1;
    abbreviation_index.push_back(in.u8("local time types"));
    d.types.push_back(std::move(t));
  }
  const std::string_view chars = in.take(c.chars, "abbreviations");
  for (size_t i = 0; i < d.types.size(); ++i) {
    const size_t at = abbreviation_index[i];
    if (at >= chars.size()) in.fail("abbreviation index out of range");
    const size_t end = chars.find('\0', at);
    if (end == std::string_view::npos) in.fail("abbreviation not terminated");
    d.types[i].abbreviation = std::string(chars.substr(at, end - at));
  }
  in.take(static_cast<size_t>(c.leap) * (width + 4), "leap second records");
  in.take(c.isstd, "standard/wall indicators");
  in.take(c.isut, "UT/local indicators");
  return d;
}

}  // namespace

bool looks_like_tzif(std::string_view bytes) {
  return bytes.substr(0, 4) == "TZif";
}

TzifData parse_tzif(std::string_view bytes, const std::string& source) {
  Reader in(bytes, source);
  const Counts first = read_header(in);
  TzifData v1 = read_block(in, first, 4);
  if (first.version == 1) {
    if (first.leap != 0)
      throw Error(ErrorKind::unsupported,
                  source + ": counts leap seconds; use a zone without them");
    return v1;
  }
  // Version 2 and later repeat the data with 64-bit times; only that second block is used.
  const Counts second = read_header(in);
  if (second.version != first.version) in.fail("the two headers disagree on the version");
  if (second.leap != 0)
    throw Error(ErrorKind::unsupported, source + ": counts leap seconds; use a zone without them");
  TzifData d = read_block(in, second, 8);
  const std::string_view rest = in.rest();
  if (rest.empty() || rest[0] != '\n') in.fail("truncated (footer)");
  const size_t end = rest.find('\n', 1);
  if (end == std::string_view::npos) in.fail("truncated (footer)");
  d.footer = std::string(rest.substr(1, end - 1));
  return d;
}

}  // namespace hearth
