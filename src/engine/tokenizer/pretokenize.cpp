// Pre-tokenizers: each kind is a list of PCRE2 expressions applied in turn, every expression
// splitting each current piece into its matches and the gaps between them (Hugging Face's
// Split with behaviour "Isolated"). The expressions and the names live in pretokenize_rules.cpp;
// `\s` / `\S` in character expressions are rewritten at compile time (see to_pcre2 below).
#include "engine/tokenizer/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <array>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "engine/tokenizer/pretokenize_rules.h"

namespace hearth::tokenizer {
namespace {

// Hugging Face's regex engines take `\s` to be Unicode White_Space. PCRE2 with UCP also counts
// U+180E MONGOLIAN VOWEL SEPARATOR (a format character since Unicode 6.3), so `\s` and `\S`
// become explicit classes: tab..CR, NEL and the Z categories (exactly White_Space).
constexpr std::string_view kWhiteSpace = R"(\t\n\x0B\f\r\x{85}\p{Z})";

std::string to_pcre2(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[++i];
      if (next == 's') {
        out += in_class ? std::string(kWhiteSpace) : "[" + std::string(kWhiteSpace) + "]";
      } else if (next == 'S') {
        HEARTH_ASSERT(!in_class, "\\S inside a character class is not rewritten");
        out += "[^" + std::string(kWhiteSpace) + "]";
      } else {
        out += c;
        out += next;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A `]` or `^]` right after the opening bracket is a literal, not the end of the class.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

std::string pcre2_message(int code) {
  std::array<PCRE2_UCHAR, 256> buffer{};
  if (pcre2_get_error_message(code, buffer.data(), buffer.size()) < 0) {
    return "PCRE2 error " + std::to_string(code);
  }
  return reinterpret_cast<const char*>(buffer.data());
}

// Per-thread match scratch, so split() stays const and thread-safe without per-call setup: one
// ovector pair (only the whole match is read), a match context whose match/depth/heap limits are
// lifted so that a megabyte-long run never stops a match early (every expression here is linear,
// the limits would only cut off legitimate input), and a JIT stack that can grow to 16 MiB.
struct Scratch {
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, nullptr);

  Scratch() {
    if (data == nullptr || context == nullptr) {
      throw Error(ErrorKind::out_of_memory, "pre-tokenizer: cannot allocate PCRE2 match data");
    }
    pcre2_set_match_limit(context, UINT32_MAX);
    pcre2_set_depth_limit(context, UINT32_MAX);
    pcre2_set_heap_limit(context, UINT32_MAX);
    // Without a stack of our own, JIT uses 32 KiB on the machine stack.
    if (jit_stack != nullptr) pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~Scratch() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

struct PreTokenizer::Compiled {
  struct Expression {
    pcre2_code* code;
    bool jit;    // JIT-compiled; otherwise pcre2_match runs the interpreter
    bool bytes;  // reads bytes (StageInput::bytes), not UTF-8 characters
  };
  std::vector<Expression> expressions;

  Compiled() = default;
  Compiled(const Compiled&) = delete;
  Compiled& operator=(const Compiled&) = delete;
  ~Compiled() {
    for (const Expression& e : expressions) pcre2_code_free(e.code);
  }

  void add(const Stage& stage) {
    const bool bytes = stage.input == StageInput::bytes;
    HEARTH_ASSERT(bytes || expressions.empty() || !expressions.back().bytes,
                  "a character expression after a byte expression");
    // Byte expressions name their bytes outright; \s there would mean ASCII space only.
    const std::string translated = bytes ? std::string(stage.pattern) : to_pcre2(stage.pattern);
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                      bytes ? 0 : PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
    if (code == nullptr) {
      throw Error(ErrorKind::internal, "pre-tokenizer expression /" + translated +
                                           "/ does not compile at offset " +
                                           std::to_string(offset) + ": " + pcre2_message(error));
    }
    // Without JIT (unsupported platform, or no executable memory) the interpreter is used.
    expressions.push_back({code, pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0, bytes});
  }

  // Appends the pieces of `piece` under `code`: each match, and each non-empty gap around them.
  static void split_one(const Expression& e, Scratch& s, std::string_view piece,
                        std::vector<std::string_view>& out) {
    const pcre2_code* code = e.code;
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
    size_t gap_start = 0;
    size_t offset = 0;
    while (offset < piece.size()) {
      // pcre2_jit_match skips pcre2_match's option checks: most pieces are a few bytes long, so
      // the per-call cost is what the split spends most of its time on.
      int rc = e.jit ? pcre2_jit_match(code, subject, piece.size(), offset, 0, s.data, s.context)
                     : pcre2_match(code, subject, piece.size(), offset, PCRE2_NO_UTF_CHECK, s.data,
                                   s.context);
      if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
        // The JIT stack ran out; the interpreter keeps its backtracking state on the heap.
        rc = pcre2_match(code, subject, piece.size(), offset, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT,
                         s.data, s.context);
      }
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        throw Error(ErrorKind::internal, "pre-tokenizer: matching a " +
                                             std::to_string(piece.size()) +
                                             "-byte piece failed: " + pcre2_message(rc));
      }
      const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(s.data);
      const size_t start = ovector[0];
      const size_t end = ovector[1];
      if (end == start) {
        // An empty match makes no piece; step over one character (one byte for a byte
        // expression) and keep looking.
        offset = start + 1;
        while (!e.bytes && offset < piece.size() &&
               (static_cast<uint8_t>(piece[offset]) & 0xC0) == 0x80) {
          ++offset;
        }
        continue;
      }
      if (start > gap_start) out.push_back(piece.substr(gap_start, start - gap_start));
      out.push_back(piece.substr(start, end - start));
      gap_start = offset = end;
    }
    if (gap_start < piece.size()) out.push_back(piece.substr(gap_start));
  }
};

PreTokenizer::PreTokenizer(PreTokenizerKind kind)
    : kind_(kind), compiled_(std::make_unique<Compiled>()) {
  for (const Stage& stage : stages_for(kind)) compiled_->add(stage);
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces;
  if (text.empty()) return pieces;
  pieces.push_back(text);
  Scratch& s = scratch();
  std::vector<std::string_view> next;
  for (const Compiled::Expression& e : compiled_->expressions) {
    next.clear();
    next.reserve(pieces.size() + pieces.size() / 2 + 16);
    for (std::string_view piece : pieces) Compiled::split_one(e, s, piece, next);
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace hearth::tokenizer
