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

#include <cmath>
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
inline constexpr std::string_view kValueLength = "attention.value_length";
inline constexpr std::string_view kSlidingWindow = "attention.sliding_window";
inline constexpr std::string_view kSlidingWindowPattern = "attention.sliding_window_pattern";
inline constexpr std::string_view kRopeFreqBaseSwa = "rope.freq_base_swa";
inline constexpr std::string_view kRopeScalingType = "rope.scaling.type";
inline constexpr std::string_view kRopeScalingFactor = "rope.scaling.factor";
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
inline constexpr std::string_view kAttnQNorm = "attn_q_norm.weight";
inline constexpr std::string_view kAttnKNorm = "attn_k_norm.weight";
inline constexpr std::string_view kAttnPostNorm = "post_attention_norm.weight";
inline constexpr std::string_view kFfnPostNorm = "post_ffw_norm.weight";
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
// The gate's activation: down(act(gate·x) * (up·x)); GELU in its tanh approximation.
enum class FfnActivation { silu, gelu_tanh };

struct ArchSpec {
  std::string_view name;  // general.architecture
  RopeStyle rope_style;
  QkvLayout qkv;
  bool qkv_bias;    // attn_q/k/v.bias, added before RoPE
  FfnLayout ffn;
  bool experts;     // <arch>.expert_count > 0 selects the mixture-of-experts FFN tensors
  bool rope_freqs;  // may carry rope_freqs.weight (head_dim/2 divisors of the RoPE frequencies)
  bool qk_norm;     // attn_q_norm / attn_k_norm: RMSNorm of each head of q and k before RoPE
  bool post_norms;  // post_attention_norm / post_ffw_norm: RMSNorm of the attention's and the
                    // FFN's output before each residual add
  bool embd_scale;  // the token embeddings are multiplied by sqrt(n_embd)
  FfnActivation act;
  bool sliding_window;  // local layers attend to a window only (<arch>.attention.sliding_window)
};

// True when a block is the llama block: no q/k norms, no post norms, SiLU gate, no embedding
// scale and no sliding window (what the trainer and `hearth synth` compute and write).
bool plain_llama_block(const ArchSpec& spec);

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
  int head_dim = 0;         // <arch>.attention.key_length, else n_embd / n_head (q is
                            // n_head·head_dim wide, which may differ from n_embd)
  int n_expert = 0;         // <arch>.expert_count (0: dense FFN)
  int n_expert_used = 0;    // <arch>.expert_used_count
  float rms_eps = 1e-5f;    // <arch>.attention.layer_norm_rms_epsilon
  float rope_base = 10000;  // <arch>.rope.freq_base
  RopeStyle rope_style = RopeStyle::normal;
  // Linear RoPE scaling (<arch>.rope.scaling.type "linear", 1 / rope.scaling.factor): positions
  // are multiplied by it in the global layers (Gemma 3 4B and larger: 1/8); local layers keep 1.
  float rope_freq_scale = 1;
  // Attention scores are scale · q·k; 1/sqrt(head_dim) unless the family says otherwise.
  float attn_scale = 0;

  // Sliding-window attention (gemma3): a local layer's query at position q sees the keys at
  // positions k with 0 <= q - k < n_swa, and rotates with rope_base_swa; the other layers are
  // global. n_swa = 0: every layer is global.
  int n_swa = 0;                     // <arch>.attention.sliding_window
  std::vector<uint8_t> swa_layers;   // per layer, 1 = local (empty when n_swa = 0)
  float rope_base_swa = 10000;       // <arch>.rope.freq_base_swa

  int n_q_dim() const { return n_head * head_dim; }
  int n_kv_dim() const { return n_head_kv * head_dim; }
  float attention_scale() const {
    return attn_scale > 0 ? attn_scale : 1.0f / std::sqrt(static_cast<float>(head_dim));
  }
  bool sliding(int layer) const {
    return n_swa > 0 && layer >= 0 && static_cast<size_t>(layer) < swa_layers.size() &&
           swa_layers[static_cast<size_t>(layer)] != 0;
  }
  int n_layer_swa() const {
    int n = 0;
    for (int il = 0; il < n_layer; ++il) n += sliding(il) ? 1 : 0;
    return n;
  }
};

// Which layers of an n_layer model are local for a sliding-window pattern p (a layer slides when
// layer % p < p - 1: p - 1 local layers, then a global one; p = 1 makes none local and p = 0
// all of them).
std::vector<uint8_t> swa_layers_of_pattern(int n_layer, int pattern);

enum class DescribeMode {
  // The engine's reading: a supported architecture and every required key, checked. Errors:
  // corrupt_file naming a missing or inconsistent key; unsupported naming an architecture
  // hearth does not run (with the supported ones) or partial rotary dimensions.
  runnable,
  // What the file states, for any architecture (the quantizer, `hearth show` and the fit check
  // also work on files hearth cannot run); never fails. Absent or invalid counts are 0,
  // n_head_kv falls back to n_head, head_dim is <arch>.attention.key_length when present (else
  // n_embd / n_head), rms_eps and rope_base keep their defaults when absent, arch is "" when
  // general.architecture is missing, rope_style is the table's for a known architecture, and the
  // sliding window is read as runnable reads it where the keys are present (for the KV memory).
  as_stored,
};

// The shape of the model in `file`, from its metadata.
Hparams describe(const gguf::File& file, DescribeMode mode = DescribeMode::runnable);

// The model's parameters as hearth runs them, named, for people (`hearth inspect`): the
// architecture (and whether hearth runs it), layers (local and global with the window), heads
// and their size (q's width where it is not n_embd), KV heads, FFN, RoPE (style and bases), the
// attention scale and the block's extras (q/k norms, post norms, the gate, the embedding scale).
// Facts the file does not state are left out.
std::vector<std::pair<std::string, std::string>> architecture_facts(const Hparams& hp);

// The inverse, for writers (hearth synth): the "<arch>.*" keys from which describe() reads `hp`
// back, in the order llama.cpp's converters write them (general.architecture and the tokenizer
// are the writer's). Expert counts only when n_expert > 0, vocab_size only when n_vocab > 0.
std::vector<std::pair<std::string, gguf::Value>> shape_metadata(const Hparams& hp);

}  // namespace hearth::model
