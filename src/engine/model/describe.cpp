// describe(): a GGUF file's metadata -> the model's shape (arch.h), in the engine's strict reading
// or as the file states it; and shape_metadata(), the keys a writer stores for a shape.
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

  if (hp.n_embd % hp.n_head != 0)
    r.fail_key(keys::kHeadCount, "(" + std::to_string(hp.n_head) + ") does not divide " +
                                     r.key(keys::kEmbeddingLength) + " (" +
                                     std::to_string(hp.n_embd) + ")");
  if (hp.n_head % hp.n_head_kv != 0)
    r.fail_key(keys::kHeadCountKv, "(" + std::to_string(hp.n_head_kv) + ") does not divide " +
                                       r.key(keys::kHeadCount) + " (" + std::to_string(hp.n_head) +
                                       ")");
  hp.head_dim = hp.n_embd / hp.n_head;
  if (hp.head_dim % 2 != 0)
    r.fail_key(keys::kHeadCount, "gives an odd head dimension " + std::to_string(hp.head_dim));
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
  return hp;
}

Hparams describe_as_stored(const gguf::File& file) {
  Hparams hp;
  hp.arch = file.get_string(keys::kArchitecture).value_or("");
  hp.n_vocab = vocab_size(file);
  if (hp.arch.empty()) return hp;
  if (const ArchSpec* spec = find_arch(hp.arch)) hp.rope_style = spec->rope_style;
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
  return hp;
}

}  // namespace

Hparams describe(const gguf::File& file, DescribeMode mode) {
  return mode == DescribeMode::runnable ? describe_runnable(file) : describe_as_stored(file);
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
  if (hp.n_expert > 0) {
    count(keys::kExpertCount, hp.n_expert);
    count(keys::kExpertUsedCount, hp.n_expert_used);
  }
  if (hp.n_vocab > 0) count(keys::kVocabSize, hp.n_vocab);
  return md;
}

}  // namespace hearth::model
