// LoRA adapters: reading llama.cpp's adapter GGUF, checking it against a model, and binding its
// matrices to the model's weights (see lora.h).
#include "engine/model/lora.h"

#include <map>

#include "core/error.h"
#include "engine/kernels/kernels.h"
#include "engine/model/arch.h"

namespace hearth::model {

namespace {

namespace t = tensors;

std::string shape_text(int64_t n0, int64_t n1) {
  return "[" + std::to_string(n0) + ", " + std::to_string(n1) + "]";
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A tensor's values as F32, exactly dequantized.
std::vector<float> to_f32(const gguf::File& file, const gguf::TensorInfo& info) {
  const kernels::TypeOps* ops = kernels::type_ops(info.type, kernels::KernelSet::reference);
  if (ops == nullptr || ops->to_float == nullptr)
    throw Error(ErrorKind::unsupported,
                file.name() + ": tensor '" + info.name + "' has type " +
                    std::string(gguf::tensor_type_name(info.type)) +
                    ", which hearth cannot read an adapter in");
  std::vector<float> out(static_cast<size_t>(info.n_elements()));
  ops->to_float(file.tensor_data(info).data(), out.data(), info.n_elements());
  return out;
}

// The model's weight matrices an adapter may adapt, by name.
std::unordered_map<std::string, const WeightMatrix*> adaptable_weights(const Model& model) {
  std::unordered_map<std::string, const WeightMatrix*> out;
  const ModelWeights& mw = model.weights();
  if (model.file().find_tensor(t::kOutput) != nullptr) out.emplace(t::kOutput, &mw.output);
  for (size_t il = 0; il < mw.layers.size(); ++il) {
    const LayerWeights& w = mw.layers[il];
    const std::pair<std::string_view, const WeightMatrix*> named[] = {
        {t::kAttnQ, &w.wq},         {t::kAttnK, &w.wk},     {t::kAttnV, &w.wv},
        {t::kAttnQkv, &w.wqkv},     {t::kAttnOutput, &w.wo}, {t::kFfnGate, &w.ffn_gate},
        {t::kFfnUp, &w.ffn_up},     {t::kFfnDown, &w.ffn_down}, {t::kFfnRouter, &w.ffn_router},
    };
    for (const auto& [suffix, matrix] : named)
      if (matrix->data != nullptr) out.emplace(layer_tensor(static_cast<int>(il), suffix), matrix);
  }
  return out;
}

// Why hearth refuses to adapt `name`, or "" when it does not refuse it outright.
std::string unsupported_reason(std::string_view name) {
  if (name == t::kTokenEmbd)
    return "adapting the token embeddings (token_embd.weight) is not supported";
  for (std::string_view experts : {t::kFfnGateExperts, t::kFfnUpExperts, t::kFfnDownExperts})
    if (ends_with(name, std::string(".") + std::string(experts)))
      return "adapting mixture-of-experts expert weights ('" + std::string(name) +
             "') is not supported; adapt the attention weights instead";
  return "";
}

// The base weight of every adapted weight of `adapter`, checked (check_adapter()'s errors).
std::vector<const WeightMatrix*> bind(const LoraAdapter& adapter, const Model& model) {
  const std::string& model_arch = model.hparams().arch;
  const std::string model_name = model.file().name();
  if (adapter.arch.empty())
    throw Error(ErrorKind::invalid_input, "adapter " + adapter.name +
                                              " does not name its architecture "
                                              "(general.architecture); the model " +
                                              model_name + " is '" + model_arch + "'");
  if (adapter.arch != model_arch)
    throw Error(ErrorKind::invalid_input,
                "adapter " + adapter.name + " is for architecture '" + adapter.arch +
                    "', but the model " + model_name + " is '" + model_arch + "'");
  const auto weights = adaptable_weights(model);
  std::vector<const WeightMatrix*> out;
  for (const LoraWeight& lw : adapter.weights) {
    const std::string where = "adapter " + adapter.name + ": ";
    const auto it = weights.find(lw.base);
    if (it == weights.end())
      throw Error(ErrorKind::invalid_input, where + "it adapts '" + lw.base + "', which the model " +
                                                model_name + " does not have");
    const WeightMatrix& w = *it->second;
    // The half whose shape disagrees with the base weight, its shape and the one it needs.
    auto mismatch = [&](std::string_view suffix, const std::string& has, const std::string& wants) {
      return Error(ErrorKind::invalid_input,
                   where + "tensor '" + lw.base + std::string(suffix) + "' has shape " + has +
                       ", but the model's '" + lw.base + "' has shape " +
                       shape_text(w.n_in, w.n_out) + " (expected " + wants + ")");
    };
    if (lw.n_in != w.n_in)
      throw mismatch(lora_keys::kSuffixA, shape_text(lw.n_in, lw.rank), shape_text(w.n_in, lw.rank));
    if (lw.n_out != w.n_out)
      throw mismatch(lora_keys::kSuffixB, shape_text(lw.rank, lw.n_out),
                     shape_text(lw.rank, w.n_out));
    out.push_back(&w);
  }
  return out;
}

}  // namespace

float LoraAdapter::effective_scale(const LoraWeight& w, float scale) const {
  return alpha != 0 ? scale * alpha / static_cast<float>(w.rank) : scale;
}

std::uint64_t LoraAdapter::bytes() const {
  std::uint64_t n = 0;
  for (const LoraWeight& w : weights) n += (w.a.size() + w.b.size()) * sizeof(float);
  return n;
}

LoraAdapter LoraAdapter::read(const gguf::File& file) {
  const std::string& name = file.name();
  const auto type = file.get_string(lora_keys::kGeneralType);
  if (type != "adapter")
    throw Error(ErrorKind::invalid_input,
                name + " is not a LoRA adapter: general.type is " +
                    (type ? "'" + *type + "'" : std::string("missing")) + ", expected 'adapter'");
  const auto adapter_type = file.get_string(lora_keys::kAdapterType);
  if (adapter_type != "lora")
    throw Error(ErrorKind::unsupported,
                name + ": adapter.type is " +
                    (adapter_type ? "'" + *adapter_type + "'" : std::string("missing")) +
                    "; hearth loads only 'lora' adapters");

  LoraAdapter out;
  out.name = name;
  out.arch = file.get_string(keys::kArchitecture).value_or("");
  out.alpha = static_cast<float>(file.get_float(lora_keys::kAlpha).value_or(0.0));

  // Pair each base weight's halves; the base weights keep the order of their lora_a.
  std::vector<std::string> order;
  std::map<std::string, const gguf::TensorInfo*> as, bs;
  for (const gguf::TensorInfo& info : file.tensors()) {
    const bool is_a = ends_with(info.name, lora_keys::kSuffixA);
    if (!is_a && !ends_with(info.name, lora_keys::kSuffixB))
      throw Error(ErrorKind::corrupt_file,
                  name + ": tensor '" + info.name + "' is neither <weight>.lora_a nor <weight>.lora_b");
    std::string base = info.name.substr(0, info.name.size() - lora_keys::kSuffixA.size());
    if (std::string reason = unsupported_reason(base); !reason.empty())
      throw Error(ErrorKind::unsupported, name + ": " + reason);
    if (info.ne.size() != 2)
      throw Error(ErrorKind::corrupt_file,
                  name + ": tensor '" + info.name + "' has " + std::to_string(info.ne.size()) +
                      " dimensions; LoRA matrices have 2");
    if (is_a) order.push_back(base);
    (is_a ? as : bs)[std::move(base)] = &info;
  }
  for (const auto& [base, b] : bs)
    if (!as.contains(base))
      throw Error(ErrorKind::corrupt_file, name + ": tensor '" + b->name + "' has no '" + base +
                                               std::string(lora_keys::kSuffixA) + "' beside it");
  for (const std::string& base : order) {
    const gguf::TensorInfo& a = *as.at(base);
    const auto b_it = bs.find(base);
    if (b_it == bs.end())
      throw Error(ErrorKind::corrupt_file, name + ": tensor '" + a.name + "' has no '" + base +
                                               std::string(lora_keys::kSuffixB) + "' beside it");
    const gguf::TensorInfo& b = *b_it->second;
    if (a.ne[1] != b.ne[0])
      throw Error(ErrorKind::corrupt_file,
                  name + ": the ranks of '" + a.name + "' " + shape_text(a.ne[0], a.ne[1]) +
                      " and '" + b.name + "' " + shape_text(b.ne[0], b.ne[1]) +
                      " differ (A is [n_in, r], B is [r, n_out])");
    out.weights.push_back({base, a.ne[0], b.ne[1], a.ne[1], to_f32(file, a), to_f32(file, b)});
  }
  return out;
}

std::shared_ptr<const LoraAdapter> LoraAdapter::load(const std::filesystem::path& path,
                                                     const Model& model) {
  const gguf::File file = gguf::File::open(path);
  auto adapter = std::make_shared<const LoraAdapter>(read(file));
  check_adapter(*adapter, model);
  return adapter;
}

const LoraWeight* LoraAdapter::find(std::string_view base) const {
  for (const LoraWeight& w : weights)
    if (w.base == base) return &w;
  return nullptr;
}

LoraWeight* LoraAdapter::find(std::string_view base) {
  for (LoraWeight& w : weights)
    if (w.base == base) return &w;
  return nullptr;
}

void check_adapter(const LoraAdapter& adapter, const Model& model) { bind(adapter, model); }

LoraIndex::LoraIndex(const Model& model, std::span<const AppliedLora> adapters) {
  for (const AppliedLora& applied : adapters) {
    const LoraAdapter& adapter = *applied.adapter;
    const std::vector<const WeightMatrix*> bases = bind(adapter, model);
    for (size_t i = 0; i < bases.size(); ++i) {
      const LoraWeight& lw = adapter.weights[i];
      terms_[bases[i]].push_back({WeightMatrix{kernels::TensorType::f32, lw.a.data(), lw.n_in, lw.rank},
                                  WeightMatrix{kernels::TensorType::f32, lw.b.data(), lw.rank, lw.n_out},
                                  adapter.effective_scale(lw, applied.scale)});
    }
  }
}

const std::vector<LoraTerm>* LoraIndex::find(const WeightMatrix& w) const {
  if (terms_.empty()) return nullptr;
  const auto it = terms_.find(&w);
  return it == terms_.end() ? nullptr : &it->second;
}

}  // namespace hearth::model
