// Tokenizers built from a GGUF file's tokenizer.* metadata: text -> token ids and back.
//
// Two tokenizer models are supported, both reproducing llama.cpp's behaviour exactly (the
// conformance vectors in shared/conformance/tokenizer/ pin it down):
//   - "llama" (SentencePiece-style BPE by piece scores): spaces become U+2581 "▁", a "▁" is put
//     in front of the text (unless tokenizer.ggml.add_space_prefix is false), and the adjacent
//     pair whose concatenation is the highest-scoring piece is merged repeatedly. Characters that
//     end up outside every piece become byte tokens <0xXX>, so any byte string round-trips.
//   - "gpt2" (byte-level BPE by merge ranks): the text is split into words by the pre-tokenizer
//     named in tokenizer.ggml.pre (pretokenize.h; "default" when the key is absent), each word's
//     bytes are spelled in the GPT-2 byte alphabet, and the lowest-rank merge is applied
//     repeatedly. Invalid UTF-8 in the text is replaced by U+FFFD first.
// Anything else (tokenizer.ggml.model "bert", "t5", "rwkv", "no_vocab", ...) raises
// Error(unsupported) naming what is supported.
//
// Special tokens: control tokens (token type 3) and unknown-type tokens are recognised in the
// text only when encode() is asked to parse them; user-defined tokens (type 4) are always
// recognised, as in llama.cpp and Hugging Face tokenizers. Longer special tokens win.
//
// A Tokenizer is immutable after from_gguf() and safe to use from many threads at once. Copies
// are cheap (they share the vocabulary) and do not depend on the gguf::File staying alive.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gguf/gguf.h"
#include "engine/tokenizer/prompt_text.h"

namespace hearth::tokenizer {

// "No such token" in the accessors below (bos() of a vocabulary without a BOS, ...).
inline constexpr int32_t kNoToken = -1;

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : uint8_t {
  undefined = 0,
  normal = 1,
  unknown = 2,
  control = 3,
  user_defined = 4,
  unused = 5,
  byte = 6,
};

enum class TokenizerModel {
  spm,  // tokenizer.ggml.model = "llama"
  bpe,  // tokenizer.ggml.model = "gpt2"
};

struct Vocab;  // the loaded vocabulary (vocab.h, internal)

class Tokenizer {
 public:
  // Reads the tokenizer.* keys. Errors: unsupported (tokenizer model or pre-tokenizer hearth
  // does not implement; the message lists the supported ones), corrupt_file (missing token list,
  // arrays of the wrong type or length, missing merges for "gpt2").
  static Tokenizer from_gguf(const gguf::File& file);

  // Text -> ids. add_special: put BOS in front when add_bos() and EOS at the end when add_eos().
  // parse_special: recognise control-token text such as "<s>" or "<|im_end|>" as those tokens;
  // when false such text is tokenized as ordinary characters. For SentencePiece vocabularies the
  // "▁" prefix goes in front of the first text fragment and after every special token (llama.cpp
  // does the same). Never fails: any byte string is accepted. Empty text gives no ids (except
  // the BOS/EOS that add_special asks for).
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
  // A prompt whose markup may hold special tokens and whose plain text may not (prompt_text.h):
  // the same ids as encode(prompt.text(), add_special, true) except that no special token is
  // recognised where its text touches a plain piece, other than the user-defined tokens that are
  // no markup (is_markup() false).
  std::vector<int32_t> encode(const PromptText& prompt, bool add_special) const;

  // The bytes one token stands for. Not necessarily valid UTF-8 on its own: a byte token such as
  // <0xE6> is one byte of a character; use decode() or StreamDecoder for text to show.
  // render_special: control and unknown tokens produce their text ("<s>", "<unk>"); otherwise
  // they produce nothing. User-defined tokens always produce their text. Unused and undefined
  // token types produce nothing. Error(invalid_input) for an id outside [0, n_vocab()).
  std::string token_to_piece(int32_t id, bool render_special) const;

  // Ids -> text: the pieces concatenated, then made valid UTF-8 (ill-formed parts, including a
  // character cut off at the end, become U+FFFD). No clean-up of spaces is applied.
  // remove_space_prefix: undo the "▁" that encode() puts in front of the text, by dropping one
  // leading space from the first non-empty piece; it has no effect for vocabularies that add no
  // prefix (every "gpt2" one). Error(invalid_input) for an id outside the vocabulary.
  std::string decode(std::span<const int32_t> ids, bool render_special,
                     bool remove_space_prefix = false) const;

  TokenizerModel model() const;
  const std::string& model_name() const;          // tokenizer.ggml.model as in the file
  const std::string& pre_tokenizer_name() const;  // tokenizer.ggml.pre, "default" if absent
  int32_t n_vocab() const;

  // Special ids, kNoToken when the vocabulary has none. For "llama" vocabularies without the
  // keys, llama.cpp's defaults apply (bos 1, eos 2, unk 0).
  int32_t bos() const;
  int32_t eos() const;
  int32_t eot() const;  // end of turn (tokenizer.ggml.eot_token_id, or found by its text)
  int32_t eom() const;  // end of message (tokenizer.ggml.eom_token_id or "<|eom_id|>")
  int32_t unk() const;
  int32_t pad() const;
  int32_t sep() const;
  bool add_bos() const;           // tokenizer.ggml.add_bos_token (model default when absent)
  bool add_eos() const;           // tokenizer.ggml.add_eos_token
  bool add_space_prefix() const;  // tokenizer.ggml.add_space_prefix; "llama" default true

  // End of generation: eos, eot, eom and tokens whose text marks the end of a turn in common
  // chat formats ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", ...).
  bool is_eog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const;  // sorted

  // Tokens that only markup makes (encode(const PromptText&, bool) never makes them from plain
  // text): control and unknown-type tokens, and user-defined ones the vocabulary names (BOS,
  // EOS, end of turn, padding, ...) or that are written like markup ("<...>" or "[...]").
  // Error(invalid_input) for an id outside the vocabulary.
  bool is_markup(int32_t id) const;

  // Per-token data; Error(invalid_input) for an id outside the vocabulary. The type may differ
  // from the file's for control-looking tokens that llama.cpp also promotes to control.
  TokenType token_type(int32_t id) const;
  const std::string& token_text(int32_t id) const;  // the piece as stored in the file
  float token_score(int32_t id) const;
  // The id whose stored text is exactly `text`, if any.
  std::optional<int32_t> find_token(std::string_view text) const;

 private:
  explicit Tokenizer(std::shared_ptr<const Vocab> vocab) : vocab_(std::move(vocab)) {}
  friend class StreamDecoder;

  std::shared_ptr<const Vocab> vocab_;
};

// Detokenizes ids one at a time, for streaming generated text. Every piece returned is valid
// UTF-8 and never splits a character: bytes of an unfinished character are held back until the
// ids that complete it arrive. Concatenating every push() and the final finish() gives exactly
// decode() of the same ids (with remove_space_prefix = false). One decoder per stream; it keeps
// the tokenizer's vocabulary alive.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool render_special = false);

  // Text that became complete with this id (possibly empty). Error(invalid_input) for an id
  // outside the vocabulary; the decoder's state is then unchanged.
  std::string push(int32_t id);
  // Ends the stream: a held-back incomplete character comes out as U+FFFD. The decoder can be
  // reused for a new stream afterwards.
  std::string finish();

 private:
  Tokenizer tokenizer_;
  bool render_special_;
  std::string pending_;  // the valid start of a character that later ids must complete
};

}  // namespace hearth::tokenizer
