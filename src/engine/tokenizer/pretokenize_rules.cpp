// The pre-tokenizer names hearth accepts and the split rule behind each kind. The expressions
// follow the models' published tokenizer.json pre-tokenizers (a Split with behaviour "Isolated",
// or Digits / Punctuation steps, which are written here as the equivalent run-matching
// expression); where a model's sequence runs a step after its byte-level mapping, that step is a
// `bytes` stage. `\s` and `\S` are rewritten at compile time (pretokenize.cpp). docs/tokenizers.md
// describes every rule in words.
#include <array>
#include <iterator>
#include <string_view>

#include "core/error.h"
#include "engine/tokenizer/pretokenize_rules.h"

namespace hearth::tokenizer {
namespace {

struct NamedKind {
  std::string_view name;
  PreTokenizerKind kind;
};

// tokenizer.ggml.pre values. Several names share one rule (the Llama 3 aliases, the GPT-2 and
// Starcoder families); dbrx and smaug-bpe split as Llama 3 does but keep their own kind because
// their vocabularies run merges on every word and add no BOS (pretokenize.h).
constexpr std::array kNames{
    NamedKind{"default", PreTokenizerKind::default_bpe},
    NamedKind{"llama-bpe", PreTokenizerKind::llama_bpe},
    NamedKind{"llama3", PreTokenizerKind::llama_bpe},
    NamedKind{"llama-v3", PreTokenizerKind::llama_bpe},
    NamedKind{"falcon3", PreTokenizerKind::llama_bpe},
    NamedKind{"falcon-h1", PreTokenizerKind::llama_bpe},
    NamedKind{"pixtral", PreTokenizerKind::llama_bpe},
    NamedKind{"midm-2.0", PreTokenizerKind::llama_bpe},
    NamedKind{"lfm2", PreTokenizerKind::llama_bpe},
    NamedKind{"dbrx", PreTokenizerKind::llama3_merged},
    NamedKind{"smaug-bpe", PreTokenizerKind::llama3_merged},
    NamedKind{"qwen2", PreTokenizerKind::qwen2},
    NamedKind{"deepseek-r1-qwen", PreTokenizerKind::qwen2},
    NamedKind{"gpt-2", PreTokenizerKind::gpt2},
    NamedKind{"mpt", PreTokenizerKind::gpt2},
    NamedKind{"olmo", PreTokenizerKind::gpt2},
    NamedKind{"jais", PreTokenizerKind::gpt2},
    NamedKind{"deepseek-coder", PreTokenizerKind::deepseek_coder},
    NamedKind{"deepseek-llm", PreTokenizerKind::deepseek_llm},
    NamedKind{"starcoder", PreTokenizerKind::starcoder},
    NamedKind{"refact", PreTokenizerKind::starcoder},
    NamedKind{"command-r", PreTokenizerKind::starcoder},
    NamedKind{"exaone", PreTokenizerKind::starcoder},
    NamedKind{"minerva-7b", PreTokenizerKind::starcoder},
    NamedKind{"tekken", PreTokenizerKind::tekken},
    NamedKind{"falcon", PreTokenizerKind::falcon},
    NamedKind{"bloom", PreTokenizerKind::bloom},
    NamedKind{"poro-chat", PreTokenizerKind::bloom},
    NamedKind{"viking", PreTokenizerKind::viking},
    NamedKind{"chameleon", PreTokenizerKind::chameleon},
    NamedKind{"gpt-4o", PreTokenizerKind::gpt4o},
    NamedKind{"seed-coder", PreTokenizerKind::seed_coder},
};

constexpr StageInput kBytes = StageInput::bytes;

// The classic GPT-2 expression (the ByteLevel pre-tokenizer with use_regex): contractions in
// lower case only, letter / number / other runs that may take one leading space, white space.
constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Llama 3 (also dbrx and smaug-bpe); Qwen2 is the same with single digits instead of runs of up
// to three.
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3})"
    R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
                               R"(| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Seed-Coder: Llama 3's shape with single digits, and a punctuation run never takes the line
// breaks after it (they go to the newline alternative instead).
constexpr const char* kSeedCoder = R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N})"
                                   R"(| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Mistral's tekken: words split at case changes (CamelCase -> Camel, Case), single digits, and
// a punctuation run may take trailing newlines and slashes.
constexpr const char* kTekken =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
    R"(|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// GPT-4o (o200k): tekken's case-change words, each of which may end in a contraction (any case),
// and digits in runs of up to three.
constexpr const char* kGpt4o =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*)"
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)?)"
    R"(|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// CJK and Hangul runs as DeepSeek's tokenizers cut them: U+4E00-U+9FA5, U+0800-U+4E00 (which
// takes in kana) and U+AC00-U+D7FF.
constexpr const char* kDeepseekCjk = R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";

// DeepSeek Coder: newlines alone, letter runs, punctuation runs, CJK/Hangul runs, then single
// digits.
constexpr Stage kDeepseekCoder[] = {
    {R"([\r\n])"}, {R"(\s?\p{L}+)"}, {R"(\s?\p{P}+)"}, {kDeepseekCjk}, {R"(\p{N})"}};

// DeepSeek LLM: newlines alone; runs of cased letters (an explicit list of upper, lower and
// title case letters: Latin, Greek, Cyrillic, Armenian, Georgian capitals, Cherokee, Glagolitic,
// Coptic, full-width Latin, Deseret, Osage, Old Hungarian, Warang Citi, Adlam, letter-like
// symbols; no letters of scripts without case) with an optional white space in front; runs of
// ASCII punctuation and symbols (which take in the ASCII letters but not digits), their
// full-width forms, curly quotes and the CJK full stop and commas, also with an optional white
// space; trailing white space; CJK/Hangul runs; then each digit alone.
constexpr Stage kDeepseekLlm[] = {
    {R"([\r\n])"},
    {R"(\s?[)"
     R"(\x{41}-\x{5A}\x{61}-\x{7A}\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA})"
     R"(\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377})"
     R"(\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5})"
     R"(\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5})"
     R"(\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B})"
     R"(\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D})"
     R"(\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D})"
     R"(\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4})"
     R"(\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC})"
     R"(\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115})"
     R"(\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139})"
     R"(\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B})"
     R"(\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B})"
     R"(\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF})"
     R"(\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A})"
     R"(\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2})"
     R"(\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943})"
     R"(]+)"},
    {R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)"},
    // Published as `\s+$`; newlines are pieces of their own by now, so `$` is the end of the
    // piece, and the look-behind starts a try only where a white space run starts: a long run
    // followed by something else is then scanned once, not once per character.
    {R"((?<!\s)\s+\z)"},
    {kDeepseekCjk},
    {R"(\p{N})"},
};

// The fallback for vocabularies without a known tokenizer.ggml.pre: punctuation runs, the
// GPT-2 expression, digit runs, then digits in threes.
constexpr Stage kDefault[] = {
    {R"([\p{P}\$\+<=>\^~\|]+)"},
    {R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))"},
    {R"(\p{N}+)"},
    {R"([0-9][0-9][0-9])"}};

// Falcon: runs of punctuation (Unicode P and every ASCII symbol) first, then GPT-2 on each
// piece. Its digit steps come after the byte mapping: runs of characters that are numbers
// there, which are the ASCII digits and the bytes B2 B3 B9 BC BD BE (shown as ² ³ ¹ ¼ ½ ¾, so
// e.g. Cyrillic 'м', bytes D0 BC, splits in two), then threes of ASCII digits.
constexpr Stage kFalcon[] = {
    {R"([\p{P}!-/:-@\[-`{-~]+)"},
    {kGpt2},
    {R"([0-9\xB2\xB3\xB9\xBC-\xBE]+)", kBytes},
    {R"([0-9][0-9][0-9])", kBytes},
};

// Starcoder (also refact, command-r, exaone, minerva-7b): single digits first, then GPT-2.
constexpr Stage kStarcoder[] = {{R"(\p{N})"}, {kGpt2}};

// BLOOM (also poro-chat): an optional space and a run of anything but white space, parentheses,
// '|' and the sentence punctuation . , ! ? … 。 ， 、 । ۔ ، ; those characters stay in the gaps.
// Digits are not split.
constexpr const char* kBloom =
    R"( ?[^(\s|.,!?\x{2026}\x{3002}\x{FF0C}\x{3001}\x{0964}\x{06D4}\x{060C})]+)";

// Viking: BLOOM's expression, then each digit alone.
constexpr Stage kViking[] = {{kBloom}, {R"(\p{N})"}};

// Chameleon: sentinel and image-code tokens whole, tabs and newlines alone, runs of four or two
// spaces, each digit alone, each punctuation character (Unicode P and every ASCII symbol) alone,
// then GPT-2.
constexpr Stage kChameleon[] = {{R"(<sentinel:[0-9]+>)"},    {R"(IMGIMG[A-I]{1,4}Z)"},
                                {R"([\t\n]| {4}| {2})"},     {R"(\p{N})"},
                                {R"([\p{P}!-/:-@\[-`{-~])"}, {kGpt2}};

template <size_t N>
std::vector<Stage> all(const Stage (&stages)[N]) {
  return {std::begin(stages), std::end(stages)};
}

}  // namespace

std::vector<Stage> stages_for(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::default_bpe:
      return all(kDefault);
    case PreTokenizerKind::llama_bpe:
    case PreTokenizerKind::llama3_merged:
      return {{kLlama3}};
    case PreTokenizerKind::qwen2:
      return {{kQwen2}};
    case PreTokenizerKind::gpt2:
      return {{kGpt2}};
    case PreTokenizerKind::deepseek_coder:
      return all(kDeepseekCoder);
    case PreTokenizerKind::deepseek_llm:
      return all(kDeepseekLlm);
    case PreTokenizerKind::starcoder:
      return all(kStarcoder);
    case PreTokenizerKind::tekken:
      return {{kTekken}};
    case PreTokenizerKind::falcon:
      return all(kFalcon);
    case PreTokenizerKind::bloom:
      return {{kBloom}};
    case PreTokenizerKind::viking:
      return all(kViking);
    case PreTokenizerKind::chameleon:
      return all(kChameleon);
    case PreTokenizerKind::gpt4o:
      return {{kGpt4o}};
    case PreTokenizerKind::seed_coder:
      return {{kSeedCoder}};
  }
  HEARTH_ASSERT(false, "unknown PreTokenizerKind");
}

std::optional<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name) {
  for (const auto& entry : kNames) {
    if (entry.name == name) return entry.kind;
  }
  return std::nullopt;
}

std::string supported_pre_tokenizer_names() {
  std::string out;
  for (const auto& entry : kNames) {
    if (!out.empty()) out += ", ";
    out += entry.name;
  }
  return out;
}

bool pre_tokenizer_takes_whole_words(PreTokenizerKind kind) {
  return kind == PreTokenizerKind::llama_bpe || kind == PreTokenizerKind::tekken;
}

bool pre_tokenizer_adds_bos(PreTokenizerKind kind) {
  return kind == PreTokenizerKind::llama_bpe || kind == PreTokenizerKind::tekken ||
         kind == PreTokenizerKind::chameleon;
}

}  // namespace hearth::tokenizer
