// describe(): a GGUF file's metadata -> the model's shape (arch.h), in the engine's strict reading
// or as the file states it; and shape_metadata(), the keys a writer stores for a shape.
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/error.h"
#include "engine/model/arch.h"

namespace hearth::model {

namespace {

constexpr int64_t kMaxCount = int64_t{1} << 30;

class KeyReader {
 public:
  KeyReader(const gguf::File& file, std::string_view arch) : file_(file), arch_(arch) {}

  std::string key(std::string_view suffix) const { return metadata_key(arch_, suffix); }

  std::optional<int64_t> find_int(std::string_view suffix) const {
    return file_.get_int(key(suffix));
  }
  // A count in (0, 2^30]; `fallback` when the key is absent, else Error(corrupt_file).
  int positive_int(std::string_view suffix, std::optional<int64_t> fallback = {}) const {
    std::optional<int64_t> v = find_int(suffix);
    if (!v) v = fallback;
    if (!v) fail_key(suffix, "is missing");
    if (*v <= 0 || *v > kMaxCount) fail_key(suffix, "must be a positive count");
    return static_cast<int>(*v);
  }
  // The same, 0 when absent or out of range (DescribeMode::as_stored).
  int count_or_zero(std::string_view suffix) const {
    std::optional<int64_t> v = find_int(suffix);
    return v && *v > 0 && *v <= kMaxCount ? static_cast<int>(*v) : 0;
  }
  float number(std::string_view suffix, std::optional<double> fallback = {}) const {
    std::optional<double> v = file_.get_float(key(suffix));
    if (!v) v = fallback;
    if (!v) fail_key(suffix, "is missing");
    if (!(*v > 0)) fail_key(suffix, "must be positive");
    return static_cast<float>(*v);
  }
  float number_or(std::string_view suffix, float fallback) const {
    std::optional<double> v = file_.get_float(key(suffix));
    return v && *v > 0 ? static_cast<float>(*v) : fallback;
  }
  [[noreturn]] void fail_key(std::string_view suffix, const std::string& what) const {
    throw Error(ErrorKind::corrupt_file,
                file_.name() + ": metadata key " + key(suffix) + " " + what);
  }

 private:
  const gguf::File& file_;
  std::string_view arch_;
};

// 1 / the factor of linear RoPE scaling ("<arch>.rope.scaling.type" = "linear"), else 1. Other
// kinds of scaling (yarn, ...) are not applied.
float linear_rope_scale(const gguf::File& file, const KeyReader& r) {
  const gguf::Value* type = file.find(r.key(keys::kRopeScalingType));
  if (type == nullptr || type->type != gguf::ValueType::string || type->s != "linear") return 1;
  const float factor = r.number_or(keys::kRopeScalingFactor, 1.0f);
  return factor > 0 ? 1.0f / factor : 1.0f;
}

// An array of n booleans or integers.
bool per_layer_flags(const gguf::Value& v, int n) {
  if (v.type != gguf::ValueType::array || v.items.size() != static_cast<size_t>(n)) return false;
  for (const gguf::Value& item : v.items)
    if (!item.is_integer() && item.type != gguf::ValueType::boolean) return false;
  return true;
}

// The sliding window of a family that has one: the window (required when strict), which layers
// are local, and their RoPE base. The pattern key is a period p (a layer is local when
// layer % p < p - 1) or, in newer files, one flag per layer (non-zero = local); when it is
// absent the family's period applies (Gemma 3: 6, five local layers to one global). Not strict
// (as_stored), bad values leave the model without a window.
void read_sliding_window(const gguf::File& file, const KeyReader& r, Hparams& hp, bool strict) {
  constexpr int kDefaultPattern = 6;
  if (strict) {
    hp.n_swa = r.positive_int(keys::kSlidingWindow);
  } else {
    hp.n_swa = r.count_or_zero(keys::kSlidingWindow);
    if (hp.n_swa == 0 || hp.n_layer == 0) return;
  }
  const std::string pattern_key = r.key(keys::kSlidingWindowPattern);
  const gguf::Value* pattern = file.find(pattern_key);
  if (pattern == nullptr) {
    hp.swa_layers = swa_layers_of_pattern(hp.n_layer, kDefaultPattern);
  } else if (pattern->is_integer()) {
    const std::optional<int64_t> p = file.get_int(pattern_key);
    if (!p || *p < 0 || *p > kMaxCount) {
      if (!strict) return void(hp.n_swa = 0);
      r.fail_key(keys::kSlidingWindowPattern, "must be a layer count (0 or more)");
    }
    hp.swa_layers = swa_layers_of_pattern(hp.n_layer, static_cast<int>(*p));
  } else if (per_layer_flags(*pattern, hp.n_layer)) {
    for (const gguf::Value& v : pattern->items) hp.swa_layers.push_back(v.u != 0 || v.i != 0);
  } else {
    if (!strict) return void(hp.n_swa = 0);
    r.fail_key(keys::kSlidingWindowPattern,
               "must be a period or one flag per layer (" + std::to_string(hp.n_layer) + ")");
  }
  hp.rope_base_swa = strict ? r.number(keys::kRopeFreqBaseSwa, 10000.0)
                            : r.number_or(keys::kRopeFreqBaseSwa, 10000.0f);
}

int vocab_size(const gguf::File& file) {
  const gguf::Value* tokens = file.get_array("tokenizer.ggml.tokens", gguf::ValueType::string);
  return tokens == nullptr ? 0 : static_cast<int>(tokens->items.size());
}

Hparams describe_runnable(const gguf::File& file) {
  const std::optional<std::string> arch = file.get_string(keys::kArchitecture);
  if (!arch)
    throw Error(ErrorKind::corrupt_file,
                file.name() + ": metadata key " + std::string(keys::kArchitecture) + " is missing");
  const ArchSpec* spec = find_arch(*arch);
  if (spec == nullptr)
    throw Error(ErrorKind::unsupported, file.name() + ": architecture '" + *arch +
                                            "' is not supported (supported: " +
                                            architecture_names() + ")");
  const KeyReader r(file, spec->name);
  Hparams hp;
  hp.arch = std::string(spec->name);
  hp.rope_style = spec->rope_style;
  hp.n_vocab = vocab_size(file);
  hp.n_ctx_train = r.positive_int(keys::kContextLength);
  hp.n_embd = r.positive_int(keys::kEmbeddingLength);
  hp.n_layer = r.positive_int(keys::kBlockCount);
  hp.n_ff = r.positive_int(keys::kFeedForwardLength);
  hp.n_head = r.positive_int(keys::kHeadCount);
  hp.n_head_kv = r.positive_int(keys::kHeadCountKv, hp.n_head);
  hp.rms_eps = r.number(keys::kRmsEps);
  hp.rope_base = r.number(keys::kRopeFreqBase, 10000.0);
  hp.rope_freq_scale = linear_rope_scale(file, r);

  // The head size: key_length where the file states it (qwen3 and gemma3 heads are wider than
  // n_embd / n_head), else the embedding split evenly over the heads.
  if (r.find_int(keys::kKeyLength)) {
    hp.head_dim = r.positive_int(keys::kKeyLength);
  } else {
    if (hp.n_embd % hp.n_head != 0)
      r.fail_key(keys::kHeadCount, "(" + std::to_string(hp.n_head) + ") does not divide " +
                                       r.key(keys::kEmbeddingLength) + " (" +
                                       std::to_string(hp.n_embd) + ")");
    hp.head_dim = hp.n_embd / hp.n_head;
  }
  if (hp.n_head % hp.n_head_kv != 0)
    r.fail_key(keys::kHeadCountKv, "(" + std::to_string(hp.n_head_kv) + ") does not divide " +
                                       r.key(keys::kHeadCount) + " (" + std::to_string(hp.n_head) +
                                       ")");
  if (hp.head_dim % 2 != 0)
    r.fail_key(hp.head_dim == hp.n_embd / hp.n_head ? keys::kHeadCount : keys::kKeyLength,
               "gives an odd head dimension " + std::to_string(hp.head_dim));
  if (const int v = r.positive_int(keys::kValueLength, hp.head_dim); v != hp.head_dim)
    throw Error(ErrorKind::unsupported,
                file.name() + ": " + r.key(keys::kValueLength) + " (" + std::to_string(v) +
                    ") differs from the key length (" + std::to_string(hp.head_dim) +
                    "); hearth runs heads whose K and V have one size");
  const int n_rot = r.positive_int(keys::kRopeDimensionCount, hp.head_dim);
  if (n_rot != hp.head_dim)
    throw Error(ErrorKind::unsupported, file.name() + ": RoPE over " + std::to_string(n_rot) +
                                            " of " + std::to_string(hp.head_dim) +
                                            " head dimensions (partial rotary) is not supported");

  if (r.find_int(keys::kExpertCount).value_or(0) > 0) {
    hp.n_expert = r.positive_int(keys::kExpertCount);
    hp.n_expert_used = r.positive_int(keys::kExpertUsedCount);
    if (hp.n_expert_used > hp.n_expert)
      r.fail_key(keys::kExpertUsedCount, "(" + std::to_string(hp.n_expert_used) +
                                             ") exceeds the expert count (" +
                                             std::to_string(hp.n_expert) + ")");
  }
  if (spec->sliding_window) read_sliding_window(file, r, hp, /*strict=*/true);
  if (hp.arch == "gemma3" && hp.n_layer == 62) {
    // Gemma 3 27B scales its queries by 1/sqrt(n_embd / n_head) (its query_pre_attn_scalar is
    // 168, not the head size 128); the file has no key for it, so the size tells (as in the
    // reference implementation). Every other Gemma 3 uses 1/sqrt(head_dim).
    hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.n_embd / hp.n_head));
  }
  return hp;
}

Hparams describe_as_stored(const gguf::File& file) {
  Hparams hp;
  hp.arch = file.get_string(keys::kArchitecture).value_or("");
  hp.n_vocab = vocab_size(file);
  if (hp.arch.empty()) return hp;
  const ArchSpec* spec = find_arch(hp.arch);
  if (spec != nullptr) hp.rope_style = spec->rope_style;
  const KeyReader r(file, hp.arch);
  hp.n_ctx_train = r.count_or_zero(keys::kContextLength);
  hp.n_embd = r.count_or_zero(keys::kEmbeddingLength);
  hp.n_layer = r.count_or_zero(keys::kBlockCount);
  hp.n_ff = r.count_or_zero(keys::kFeedForwardLength);
  hp.n_head = r.count_or_zero(keys::kHeadCount);
  hp.n_head_kv = r.count_or_zero(keys::kHeadCountKv);
  if (hp.n_head_kv == 0) hp.n_head_kv = hp.n_head;
  hp.head_dim = r.count_or_zero(keys::kKeyLength);
  if (hp.head_dim == 0 && hp.n_head > 0) hp.head_dim = hp.n_embd / hp.n_head;
  hp.n_expert = r.count_or_zero(keys::kExpertCount);
  hp.n_expert_used = r.count_or_zero(keys::kExpertUsedCount);
  hp.rms_eps = r.number_or(keys::kRmsEps, hp.rms_eps);
  hp.rope_base = r.number_or(keys::kRopeFreqBase, hp.rope_base);
  hp.rope_freq_scale = linear_rope_scale(file, r);
  // Only for the families hearth runs with a window (another family's key may mean otherwise).
  if (spec != nullptr && spec->sliding_window) read_sliding_window(file, r, hp, false);
  return hp;
}

}  // namespace

Hparams describe(const gguf::File& file, DescribeMode mode) {
  return mode == DescribeMode::runnable ? describe_runnable(file) : describe_as_stored(file);
}

namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> architecture_facts(const Hparams& hp) {
  std::vector<std::pair<std::string, std::string>> facts;
  const ArchSpec* spec = find_arch(hp.arch);
  facts.emplace_back("architecture",
                     hp.arch.empty()  ? "not stated"
                     : spec != nullptr ? hp.arch
                                       : hp.arch + " (hearth does not run it; it runs " +
                                             architecture_names() + ")");
  if (hp.n_layer > 0) {
    std::string layers = std::to_string(hp.n_layer);
    if (const int local = hp.n_layer_swa(); local > 0)
      layers += ": " + std::to_string(local) + " local (sliding window of " +
                std::to_string(hp.n_swa) + " positions), " + std::to_string(hp.n_layer - local) +
                " global";
    facts.emplace_back("layers", layers);
  }
  if (hp.n_embd > 0) facts.emplace_back("embedding", std::to_string(hp.n_embd));
  if (hp.n_head > 0 && hp.head_dim > 0) {
    std::string heads = std::to_string(hp.n_head) + " of " + std::to_string(hp.head_dim);
    if (hp.n_q_dim() != hp.n_embd) heads += " (q is " + std::to_string(hp.n_q_dim()) + " wide)";
    facts.emplace_back("heads", heads);
    facts.emplace_back("kv heads", std::to_string(hp.n_head_kv));
  }
  if (hp.n_ff > 0) {
    std::string ffn = std::to_string(hp.n_ff);
    if (hp.n_expert > 0)
      ffn += " per expert, " + std::to_string(hp.n_expert_used) + " of " +
             std::to_string(hp.n_expert) + " experts";
    if (spec != nullptr)
      ffn += spec->act == FfnActivation::gelu_tanh ? ", GELU (tanh) gate" : ", SiLU gate";
    facts.emplace_back("feed-forward", ffn);
  }
  std::string rope = std::string(hp.rope_style == RopeStyle::neox ? "NEOX" : "normal") +
                     " pairs, base " + number_text(hp.rope_base);
  if (hp.rope_freq_scale != 1) rope += ", positions scaled by " + number_text(hp.rope_freq_scale);
  if (hp.n_layer_swa() > 0) rope += " (local layers " + number_text(hp.rope_base_swa) + ")";
  facts.emplace_back("rope", rope);
  if (hp.head_dim > 0) facts.emplace_back("attention scale", number_text(hp.attention_scale()));
  facts.emplace_back("rms norm eps", number_text(hp.rms_eps));
  if (spec != nullptr) {
    std::string extras;
    auto add = [&](bool on, const char* what) {
      if (on) extras += (extras.empty() ? "" : ", ") + std::string(what);
    };
    add(spec->qkv_bias, "q/k/v biases");
    add(spec->qkv == QkvLayout::fused, "fused q/k/v");
    add(spec->ffn == FfnLayout::fused_gate_up, "fused gate/up");
    add(spec->qk_norm, "per-head q/k RMSNorm");
    add(spec->post_norms, "post-attention and post-FFN norms");
    add(spec->embd_scale, "embeddings scaled by sqrt(embedding)");
    if (!extras.empty()) facts.emplace_back("block", extras);
  }
  return facts;
}

std::vector<std::pair<std::string, gguf::Value>> shape_metadata(const Hparams& hp) {
  using gguf::Value;
  std::vector<std::pair<std::string, Value>> md;
  auto count = [&](std::string_view suffix, int v) {
    md.emplace_back(metadata_key(hp.arch, suffix), Value::of_u32(static_cast<uint32_t>(v)));
  };
  count(keys::kContextLength, hp.n_ctx_train);
  count(keys::kEmbeddingLength, hp.n_embd);
  count(keys::kBlockCount, hp.n_layer);
  count(keys::kFeedForwardLength, hp.n_ff);
  count(keys::kHeadCount, hp.n_head);
  count(keys::kHeadCountKv, hp.n_head_kv);
  md.emplace_back(metadata_key(hp.arch, keys::kRopeFreqBase), Value::of_f32(hp.rope_base));
  md.emplace_back(metadata_key(hp.arch, keys::kRmsEps), Value::of_f32(hp.rms_eps));
  count(keys::kRopeDimensionCount, hp.head_dim);
  if (hp.n_head > 0 && hp.head_dim * hp.n_head != hp.n_embd) {  // heads not n_embd / n_head
    count(keys::kKeyLength, hp.head_dim);
    count(keys::kValueLength, hp.head_dim);
  }
  if (hp.n_swa > 0) {
    count(keys::kSlidingWindow, hp.n_swa);
    std::vector<Value> flags;
    for (int il = 0; il < hp.n_layer; ++il) flags.push_back(Value::of_bool(hp.sliding(il)));
    md.emplace_back(metadata_key(hp.arch, keys::kSlidingWindowPattern),
                    Value::of_array(gguf::ValueType::boolean, std::move(flags)));
    md.emplace_back(metadata_key(hp.arch, keys::kRopeFreqBaseSwa), Value::of_f32(hp.rope_base_swa));
  }
  if (hp.rope_freq_scale != 1) {
    md.emplace_back(metadata_key(hp.arch, keys::kRopeScalingType), Value::of_string("linear"));
    md.emplace_back(metadata_key(hp.arch, keys::kRopeScalingFactor),
                    Value::of_f32(1.0f / hp.rope_freq_scale));
  }
  if (hp.n_expert > 0) {
    count(keys::kExpertCount, hp.n_expert);
    count(keys::kExpertUsedCount, hp.n_expert_used);
  }
  if (hp.n_vocab > 0) count(keys::kVocabSize, hp.n_vocab);
  return md;
}

}  // namespace hearth::model
