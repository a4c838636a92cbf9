// Architectures as data (DESIGN.md §2): everything hearth knows about a model family is one row
// of the table in arch.cpp (its RoPE style and which tensors its blocks have), and every GGUF
// metadata key and tensor name is spelled once, below. describe() turns a file's metadata into
// the model's shape, the one reading of "<arch>.block_count" and friends that the loader, the
// quantizer's recipe, `hearth synth`, the fit check and `hearth show` all share.
//
// Metadata keys are "<arch>.<suffix>" (metadata_key()); tensors are named as in GGUF files
// written by llama.cpp's converters: token_embd.weight, output_norm.weight, output.weight
// (optional: absent means tied to token_embd), rope_freqs.weight (optional), and per layer
// "blk.<i>.<suffix>" (layer_tensor()) with the suffixes below.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/gguf/gguf.h"

namespace hearth::model {

// Metadata key suffixes, appended to "<arch>.".
namespace keys {
inline constexpr std::string_view kArchitecture = "general.architecture";  // the full key
inline constexpr std::string_view kContextLength = "context_length";
inline constexpr std::string_view kEmbeddingLength = "embedding_length";
inline constexpr std::string_view kBlockCount = "block_count";
inline constexpr std::string_view kFeedForwardLength = "feed_forward_length";
inline constexpr std::string_view kHeadCount = "attention.head_count";
inline constexpr std::string_view kHeadCountKv = "attention.head_count_kv";
inline constexpr std::string_view kKeyLength = "attention.key_length";
inline constexpr std::string_view kRmsEps = "attention.layer_norm_rms_epsilon";
inline constexpr std::string_view kRopeFreqBase = "rope.freq_base";
inline constexpr std::string_view kRopeDimensionCount = "rope.dimension_count";
inline constexpr std::string_view kExpertCount = "expert_count";
inline constexpr std::string_view kExpertUsedCount = "expert_used_count";
inline constexpr std::string_view kVocabSize = "vocab_size";
}  // namespace keys

// "<arch>.<suffix>".
std::string metadata_key(std::string_view arch, std::string_view suffix);

// Tensor names: model-level names in full, per-layer ones as the suffix after "blk.<i>.".
namespace tensors {
inline constexpr std::string_view kTokenEmbd = "token_embd.weight";
inline constexpr std::string_view kOutputNorm = "output_norm.weight";
inline constexpr std::string_view kOutput = "output.weight";
inline constexpr std::string_view kRopeFreqs = "rope_freqs.weight";

inline constexpr std::string_view kAttnNorm = "attn_norm.weight";
inline constexpr std::string_view kAttnQ = "attn_q.weight";
inline constexpr std::string_view kAttnK = "attn_k.weight";
inline constexpr std::string_view kAttnV = "attn_v.weight";
inline constexpr std::string_view kAttnQkv = "attn_qkv.weight";
inline constexpr std::string_view kAttnQBias = "attn_q.bias";
inline constexpr std::string_view kAttnKBias = "attn_k.bias";
inline constexpr std::string_view kAttnVBias = "attn_v.bias";
inline constexpr std::string_view kAttnOutput = "attn_output.weight";
inline constexpr std::string_view kFfnNorm = "ffn_norm.weight";
inline constexpr std::string_view kFfnGate = "ffn_gate.weight";
inline constexpr std::string_view kFfnUp = "ffn_up.weight";
inline constexpr std::string_view kFfnDown = "ffn_down.weight";
inline constexpr std::string_view kFfnRouter = "ffn_gate_inp.weight";
inline constexpr std::string_view kFfnGateExperts = "ffn_gate_exps.weight";
inline constexpr std::string_view kFfnUpExperts = "ffn_up_exps.weight";
inline constexpr std::string_view kFfnDownExperts = "ffn_down_exps.weight";
}  // namespace tensors

// "blk.<layer>.<suffix>", the name of a per-layer tensor.
std::string layer_tensor(int layer, std::string_view suffix);

// How RoPE pairs the values of a head: llama rotates (x[2i], x[2i+1]); NEOX (qwen2, phi3)
// rotates (x[i], x[i + head_dim/2]).
enum class RopeStyle { normal, neox };

// The attention projections of a block: attn_q, attn_k, attn_v; or one attn_qkv of
// n_q_dim + 2·n_kv_dim rows (Q rows, then K, then V).
enum class QkvLayout { separate, fused };
// The FFN of a block: ffn_gate and ffn_up; or one ffn_up of 2·n_ff rows (gate rows first).
enum class FfnLayout { gated, fused_gate_up };

struct ArchSpec {
  std::string_view name;  // general.architecture
  RopeStyle rope_style;
  QkvLayout qkv;
  bool qkv_bias;    // attn_q/k/v.bias, added before RoPE
  FfnLayout ffn;
  bool experts;     // <arch>.expert_count > 0 selects the mixture-of-experts FFN tensors
  bool rope_freqs;  // may carry rope_freqs.weight (head_dim/2 divisors of the RoPE frequencies)
};

// Every architecture hearth runs, and the row for `arch` (nullptr when unknown).
std::span<const ArchSpec> architectures();
const ArchSpec* find_arch(std::string_view arch);
// "llama, qwen2, phi3", for messages.
std::string architecture_names();

// A model's shape: its hyperparameters as the engine runs them.
struct Hparams {
  std::string arch;         // general.architecture
  int n_vocab = 0;          // rows of token_embd (describe(): tokenizer.ggml.tokens, 0 if absent)
  int n_ctx_train = 0;      // <arch>.context_length
  int n_embd = 0;           // <arch>.embedding_length
  int n_layer = 0;          // <arch>.block_count
  int n_ff = 0;             // <arch>.feed_forward_length (per expert for MoE)
  int n_head = 0;           // <arch>.attention.head_count
  int n_head_kv = 0;        // <arch>.attention.head_count_kv (n_head when absent)
  int head_dim = 0;         // n_embd / n_head
  int n_expert = 0;         // <arch>.expert_count (0: dense FFN)
  int n_expert_used = 0;    // <arch>.expert_used_count
  float rms_eps = 1e-5f;    // <arch>.attention.layer_norm_rms_epsilon
  float rope_base = 10000;  // <arch>.rope.freq_base
  RopeStyle rope_style = RopeStyle::normal;

  int n_q_dim() const { return n_head * head_dim; }
  int n_kv_dim() const { return n_head_kv * head_dim; }
};

enum class DescribeMode {
  // The engine's reading: a supported architecture and every required key, checked. Errors:
  // corrupt_file naming a missing or inconsistent key; unsupported naming an architecture
  // hearth does not run (with the supported ones) or partial rotary dimensions.
  runnable,
  // What the file states, for any architecture (the quantizer, `hearth show` and the fit check
  // also work on files hearth cannot run); never fails. Absent or invalid counts are 0,
  // n_head_kv falls back to n_head, head_dim is <arch>.attention.key_length when present (else
  // n_embd / n_head), rms_eps and rope_base keep their defaults when absent, arch is "" when
  // general.architecture is missing, rope_style is the table's for a known architecture.
  as_stored,
};

// The shape of the model in `file`, from its metadata.
Hparams describe(const gguf::File& file, DescribeMode mode = DescribeMode::runnable);

// The inverse, for writers (hearth synth): the "<arch>.*" keys from which describe() reads `hp`
// back, in the order llama.cpp's converters write them (general.architecture and the tokenizer
// are the writer's). Expert counts only when n_expert > 0, vocab_size only when n_vocab > 0.
std::vector<std::pair<std::string, gguf::Value>> shape_metadata(const Hparams& hp);

}  // namespace hearth::model
