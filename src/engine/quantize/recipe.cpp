#include "engine/quantize/recipe.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <numeric>

#include "core/error.h"
#include "engine/model/arch.h"

namespace hearth::quantize {
namespace {

using T = TensorType;

// llama_ftype ids.
enum Ftype : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ8_0 = 7, kQ5_0 = 8, kQ5_1 = 9, kQ2_K = 10,
  kQ3_K_S = 11, kQ3_K_M = 12, kQ3_K_L = 13, kQ4_K_S = 14, kQ4_K_M = 15, kQ5_K_S = 16,
  kQ5_K_M = 17, kQ6_K = 18, kIQ4_NL = 25, kBF16 = 32,
};

constexpr std::array<Preset, 18> kPresets = {{
    {"Q8_0", kQ8_0, T::q8_0},       {"Q4_0", kQ4_0, T::q4_0},       {"Q4_1", kQ4_1, T::q4_1},
    {"Q5_0", kQ5_0, T::q5_0},       {"Q5_1", kQ5_1, T::q5_1},       {"Q2_K", kQ2_K, T::q2_k},
    {"Q3_K_S", kQ3_K_S, T::q3_k},   {"Q3_K_M", kQ3_K_M, T::q3_k},   {"Q3_K_L", kQ3_K_L, T::q3_k},
    {"Q4_K_S", kQ4_K_S, T::q4_k},   {"Q4_K_M", kQ4_K_M, T::q4_k},   {"Q5_K_S", kQ5_K_S, T::q5_k},
    {"Q5_K_M", kQ5_K_M, T::q5_k},   {"Q6_K", kQ6_K, T::q6_k},       {"IQ4_NL", kIQ4_NL, T::iq4_nl},
    {"F16", kF16, T::f16},          {"BF16", kBF16, T::bf16},       {"F32", kF32, T::f32},
}};

bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The N of a "blk.N." prefix, or -1.
int block_index(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int v = -1;
  const char* begin = name.data() + 4;
  const char* end = name.data() + name.size();
  auto [ptr, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || ptr == begin || ptr == end || *ptr != '.') return -1;
  return v;
}

int n_dims(const std::vector<int64_t>& ne) {
  int n = 1;
  for (size_t i = 0; i < ne.size(); ++i)
    if (ne[i] != 1) n = static_cast<int>(i) + 1;
  return n;
}

bool is_quantized_type(T t) { return t != T::f32 && t != T::f16 && t != T::bf16; }

int64_t block_size(T t) { return gguf::traits(t).block_size; }

bool use_more_bits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

struct Counters {
  int n_attention_wv = 0;
  int i_attention_wv = 0;
  int i_ffn_down = 0;
  int i_ffn_gate = 0;
  int i_ffn_up = 0;
};

T tensor_type(const Preset& preset, const ModelFacts& facts, const TensorDesc& t, Counters& c) {
  const model::Hparams& f = facts.shape;
  const std::string& name = t.name;
  const uint32_t ft = preset.file_type;
  const bool falcon = f.arch == "falcon";
  const int n_gqa = f.n_head_kv > 0 ? f.n_head / f.n_head_kv : 1;
  const int n_layer = f.n_layer;
  // MoE models: the layer comes from the name (llama.cpp's experts are not in layer order).
  auto layer_of = [&](int counter) { return f.n_expert > 1 ? block_index(name) : counter; };
  T type = preset.base;

  if (name == model::tensors::kOutput || (!facts.has_output && name == model::tensors::kTokenEmbd)) {
    if (falcon || t.ne[0] % block_size(type) != 0) {
      type = T::q8_0;
    } else if (type != T::q8_0) {
      type = T::q6_k;
    }
  } else if (name == model::tensors::kTokenEmbd) {
    // No rule for the supported presets.
  } else if (contains(name, "attn_v.weight")) {
    if (ft == kQ2_K) {
      type = n_gqa >= 4 ? T::q4_k : T::q3_k;
    } else if (ft == kQ3_K_M) {
      type = c.i_attention_wv < 2 ? T::q5_k : T::q4_k;
    } else if (ft == kQ3_K_L) {
      type = T::q5_k;
    } else if (ft == kIQ4_NL && n_gqa >= 4) {
      type = T::q5_k;
    } else if ((ft == kQ4_K_M || ft == kQ5_K_M) && use_more_bits(c.i_attention_wv, c.n_attention_wv)) {
      type = T::q6_k;
    } else if (ft == kQ4_K_S && c.i_attention_wv < 4) {
      type = T::q5_k;
    }
    if (f.n_expert == 8) type = T::q8_0;
    ++c.i_attention_wv;
  } else if (contains(name, "attn_k.weight")) {
    if (f.n_expert == 8) type = T::q8_0;
  } else if (contains(name, "attn_q.weight")) {
    // No rule for the supported presets.
  } else if (contains(name, "ffn_down")) {
    const int i_layer = layer_of(c.i_ffn_down);
    if (ft == kQ2_K) {
      type = T::q3_k;
    } else if (ft == kQ3_K_M) {
      type = i_layer < n_layer / 16                       ? T::q5_k
             : !falcon || use_more_bits(i_layer, n_layer) ? T::q4_k
                                                          : T::q3_k;
    } else if (ft == kQ3_K_L) {
      type = falcon ? T::q4_k : T::q5_k;
    } else if (ft == kQ4_K_M) {
      if (falcon) {
        type = i_layer < n_layer / 16 ? T::q6_k : use_more_bits(i_layer, n_layer) ? T::q5_k : T::q4_k;
      } else if (use_more_bits(i_layer, n_layer)) {
        type = T::q6_k;
      }
    } else if (i_layer < n_layer / 8 && ft == kIQ4_NL) {
      type = T::q5_k;
    } else if (ft == kQ5_K_M && use_more_bits(i_layer, n_layer)) {
      type = T::q6_k;
    } else if (ft == kQ4_K_S && !falcon && i_layer < n_layer / 8) {
      type = T::q5_k;
    }
    ++c.i_ffn_down;
  } else if (contains(name, "attn_output.weight")) {
    if (!falcon) {
      if (f.n_expert == 8) {
        if (ft == kQ2_K || ft == kQ3_K_S || ft == kQ3_K_M || ft == kIQ4_NL || ft == kQ4_K_S ||
            ft == kQ4_K_M)
          type = T::q5_k;
      } else if (ft == kQ2_K) {
        type = T::q3_k;
      } else if (ft == kQ3_K_M) {
        type = T::q4_k;
      } else if (ft == kQ3_K_L) {
        type = T::q5_k;
      }
    } else if (ft == kQ3_K_L) {
      type = T::q4_k;
    }
  } else if (contains(name, "attn_qkv.weight")) {
    if (ft == kQ3_K_M || ft == kQ3_K_L) {
      type = T::q4_k;
    } else if (ft == kQ4_K_M) {
      type = T::q5_k;
    } else if (ft == kQ5_K_M) {
      type = T::q6_k;
    }
  } else if (contains(name, "ffn_gate")) {
    ++c.i_ffn_gate;
  } else if (contains(name, "ffn_up")) {
    ++c.i_ffn_up;
  }

  // Rows that do not split into the type's blocks.
  if (t.ne[0] % block_size(type) != 0) {
    switch (type) {
      case T::q2_k:
      case T::q3_k: type = T::iq4_nl; break;
      case T::q4_k: type = T::q5_0; break;
      case T::q5_k: type = T::q5_1; break;
      case T::q6_k: type = T::q8_0; break;
      default: type = T::f16; break;  // llama.cpp refuses these; hearth keeps the tensor in F16
    }
    if (t.ne[0] % block_size(type) != 0) type = T::f16;
  }
  return type;
}

}  // namespace

std::span<const Preset> presets() { return kPresets; }

const Preset* find_preset(std::string_view name) {
  for (const Preset& p : kPresets) {
    if (p.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::toupper(static_cast<unsigned char>(name[i])) == p.name[i];
    if (same) return &p;
  }
  return nullptr;
}

std::string preset_names() {
  std::string out;
  for (const Preset& p : kPresets) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

ModelFacts model_facts(const gguf::File& file) {
  // As the file states it: llama-quantize's rules apply to architectures hearth cannot run too.
  const model::Hparams shape = model::describe(file, model::DescribeMode::as_stored);
  if (shape.arch.empty())
    throw Error(ErrorKind::corrupt_file,
                file.name() + ": " + std::string(model::keys::kArchitecture) + " is missing");
  if (shape.n_layer == 0 || shape.n_layer > 100000)
    throw Error(ErrorKind::corrupt_file, file.name() + ": " +
                                             model::metadata_key(shape.arch, model::keys::kBlockCount) +
                                             " is missing or not a positive count");
  ModelFacts f;
  f.shape = shape;
  f.has_output = file.find_tensor(model::tensors::kOutput) != nullptr;
  return f;
}

std::vector<size_t> llama_model_order(std::span<const TensorDesc> tensors) {
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = block_index(tensors[a].name);
    const int lb = block_index(tensors[b].name);
    if (la != lb) return la < lb;
    return tensors[a].name < tensors[b].name;
  });
  return order;
}

bool is_quantizable(const TensorDesc& t) {
  const std::string& name = t.name;
  if (!ends_with(name, "weight")) return false;
  if (n_dims(t.ne) < 2) return false;
  if (contains(name, "_norm.weight")) return false;
  if (contains(name, "ffn_gate_inp.weight")) return false;
  if (name == "position_embd.weight" || name == "token_types.weight") return false;
  if (contains(name, "ssm_conv1d.weight") || contains(name, "attn_rel_b.weight")) return false;
  return true;
}

std::vector<TensorType> plan_tensor_types(const Preset& preset, const ModelFacts& facts,
                                          std::span<const TensorDesc> ordered) {
  Counters c;
  for (const TensorDesc& t : ordered) {
    if (contains(t.name, "attn_v.weight") || contains(t.name, "attn_qkv.weight") ||
        contains(t.name, "attn_kv_b.weight"))
      ++c.n_attention_wv;
  }
  std::vector<TensorType> types;
  types.reserve(ordered.size());
  for (const TensorDesc& t : ordered) {
    if (!is_quantizable(t)) {
      types.push_back(t.type);
    } else if (!is_quantized_type(preset.base)) {
      types.push_back(preset.base);
    } else {
      types.push_back(tensor_type(preset, facts, t, c));
    }
  }
  return types;
}

}  // namespace hearth::quantize
