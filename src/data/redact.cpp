// redact_pii(): e-mail addresses, phone numbers and secrets out of exported text. The patterns,
// applied in this order (earlier ones first so that later ones never see their text):
//   [SECRET]  PEM private keys: "-----BEGIN ... PRIVATE KEY-----" up to its END line (or the end
//             of the text when the block was cut off)
//   [SECRET]  well-known token shapes: sk-... (OpenAI, Anthropic), hearth_... (our API keys),
//             ghp_/gho_/ghu_/ghs_/ghr_... and github_pat_... (GitHub), AKIA/ASIA + 16 (AWS key
//             ids), xox?-... (Slack), AIza... (Google), three-part eyJ... JWTs
//   [SECRET]  the value after "password" / "passwd" / "passphrase" / "pwd" and ":", "=" or "is"
//             (4+ characters up to a space or quote); the label stays
//   [SECRET]  a long token (16+ base64/hex characters with at least one digit) after a word
//             ending in "key", "token" or "secret" (api_key=..., "access_token": "...", ...);
//             the label stays
//   [EMAIL]   local@domain.tld
//   [PHONE]   "+" and a country code followed by groups of digits (8 to 15 digits in all), and
//             the US forms (555) 123-4567, 555-123-4567, 555.123.4567, +1 555 123 4567
// The phone patterns need separators or a "+", so bare numbers (ids, amounts, dates) stay.
// Redaction is best effort: it lowers the chance of a secret reaching a training file, it does
// not prove there is none.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/data.h"

namespace hearth::data {
namespace {

struct Pattern {
  const char* expression;
  const char* replacement;
  bool keep_label = false;  // keep capture group 1 (the "api_key=" part) before the replacement
  int min_digits = 0;       // phone numbers: digits the match must contain
  int max_digits = 0;
};

const Pattern kPatterns[] = {
    {R"(-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\z))",
     "[SECRET]"},
    {R"((?<![A-Za-z0-9_])(?:sk-[A-Za-z0-9_\-]{16,}|hearth_[A-Za-z0-9_\-]{20,})"
     R"(|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"
     R"(|(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])|xox[abprs]-[A-Za-z0-9\-]{10,})"
     R"(|AIza[0-9A-Za-z_\-]{35}|eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}))",
     "[SECRET]"},
    {R"((?i)(\b(?:password|passwd|passphrase|pwd)\b["']?\s*(?:[:=]|\s+is\s+)\s*["']?)[^\s"',;]{4,})",
     "[SECRET]", true},
    {R"((?i)(\b[a-z0-9_\-]*(?:key|token|secret)s?\b["']?\s*(?:[:=]|\s+is\s+|\s)\s*["']?))"
     R"((?=[A-Za-z0-9+/_\-]*[0-9])[A-Za-z0-9+/_\-]{16,}={0,2})",
     "[SECRET]", true},
    {R"([A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})", "[EMAIL]"},
    {R"((?<![\w+])\+\d{1,3}(?:[ .\-]?\(?\d{1,4}\)?){2,6}(?!\w))", "[PHONE]", false, 8, 15},
    {R"((?<![\w+])(?:\+?1[ .\-]?)?(?:\(\d{3}\)\s?|\d{3}[ .\-])\d{3}[ .\-]\d{4}(?!\w))", "[PHONE]",
     false, 10, 11},
};

struct Compiled {
  const Pattern* pattern;
  pcre2_code* code;
};

// Compiled once; pcre2_code is safe to share between threads for matching.
const std::vector<Compiled>& compiled() {
  static const std::vector<Compiled> list = [] {
    std::vector<Compiled> out;
    for (const Pattern& p : kPatterns) {
      int error = 0;
      PCRE2_SIZE offset = 0;
      pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.expression),
                                       PCRE2_ZERO_TERMINATED, 0, &error, &offset, nullptr);
      HEARTH_ASSERT(code != nullptr, "a redaction pattern does not compile");
      pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort: the interpreter works too
      out.push_back({&p, code});
    }
    return out;
  }();
  return list;
}

std::string replace_matches(const Compiled& c, const std::string& text) {
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(c.code, nullptr), pcre2_match_data_free);
  if (!data) throw Error(ErrorKind::out_of_memory, "redaction: cannot allocate match data");
  std::string out;
  std::size_t copied = 0, at = 0;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  while (at <= text.size()) {
    int rc = pcre2_match(c.code, subject, text.size(), at, 0, data.get(), nullptr);
    if (rc < 0) break;  // no more matches (or a limit: leave the rest as it is)
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(data.get());
    const std::size_t start = ov[0], end = ov[1];
    if (end <= start) {  // no pattern matches empty text; guard against looping anyway
      at = start + 1;
      continue;
    }
    bool accept = true;
    if (c.pattern->max_digits > 0) {
      const auto digits = std::count_if(text.begin() + static_cast<std::ptrdiff_t>(start),
                                        text.begin() + static_cast<std::ptrdiff_t>(end),
                                        [](char ch) { return ch >= '0' && ch <= '9'; });
      accept = digits >= c.pattern->min_digits && digits <= c.pattern->max_digits;
    }
    if (accept) {
      out.append(text, copied, start - copied);
      if (c.pattern->keep_label && rc >= 2 && ov[2] != PCRE2_UNSET)
        out.append(text, ov[2], ov[3] - ov[2]);
      out += c.pattern->replacement;
      copied = end;
    }
    at = end;
  }
  out.append(text, copied, std::string::npos);
  return out;
}

}  // namespace

std::string redact_pii(std::string_view text) {
  std::string out(text);
  for (const Compiled& c : compiled()) out = replace_matches(c, out);
  return out;
}

}  // namespace hearth::data
