#include "engine/model/arch.h"

#include "core/error.h"

namespace hearth::model {

namespace {

// clang-format off
constexpr ArchSpec kArchs[] = {
    {"llama", RopeStyle::normal, load_llama_layer, load_llama_extras},
    {"qwen2", RopeStyle::neox,   load_qwen2_layer, nullptr},
    {"phi3",  RopeStyle::neox,   load_phi3_layer,  nullptr},
};
// clang-format on

class KeyReader {
 public:
  KeyReader(const gguf::File& file, std::string_view arch) : file_(file), prefix_(arch) {
    prefix_ += '.';
  }

  std::string key(std::string_view suffix) const { return prefix_ + std::string(suffix); }

  std::optional<int64_t> find_int(std::string_view suffix) const {
    return file_.get_int(key(suffix));
  }
  // A count in (0, 2^30]; `fallback` when the key is absent, else Error(corrupt_file).
  int positive_int(std::string_view suffix, std::optional<int64_t> fallback = {}) const {
    std::optional<int64_t> v = find_int(suffix);
    if (!v) v = fallback;
    if (!v) fail_key(suffix, "is missing");
    if (*v <= 0 || *v > (int64_t{1} << 30)) fail_key(suffix, "must be a positive count");
    return static_cast<int>(*v);
  }
  float number(std::string_view suffix, std::optional<double> fallback = {}) const {
    std::optional<double> v = file_.get_float(key(suffix));
    if (!v) v = fallback;
    if (!v) fail_key(suffix, "is missing");
    if (!(*v > 0)) fail_key(suffix, "must be positive");
    return static_cast<float>(*v);
  }
  [[noreturn]] void fail_key(std::string_view suffix, const std::string& what) const {
    throw Error(ErrorKind::corrupt_file,
                file_.name() + ": metadata key " + key(suffix) + " " + what);
  }

 private:
  const gguf::File& file_;
  std::string prefix_;
};

}  // namespace

const ArchSpec& find_arch(std::string_view arch, const std::string& file_name) {
  for (const ArchSpec& spec : kArchs)
    if (spec.name == arch) return spec;
  std::string supported;
  for (const ArchSpec& spec : kArchs)
    supported += (supported.empty() ? "" : ", ") + std::string(spec.name);
  throw Error(ErrorKind::unsupported, file_name + ": architecture '" + std::string(arch) +
                                          "' is not supported (supported: " + supported + ")");
}

Hparams read_hparams(const gguf::File& file, const ArchSpec& spec) {
  const KeyReader r(file, spec.name);
  Hparams hp;
  hp.arch = std::string(spec.name);
  hp.rope_style = spec.rope_style;
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

}  // namespace hearth::model
