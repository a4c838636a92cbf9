#include "engine/quantize/synth.h"

#include <array>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "core/splitmix.h"
#include "engine/model/arch.h"

namespace hearth::quantize {
namespace {

using gguf::Value;
using gguf::ValueType;

constexpr std::array<SynthShape, 4> kShapes = {{
    {"llama-3.2-1b", "llama", 16, 2048, 32, 8, 8192, 128256, 131072, 500000.f, 1e-5f, true},
    {"llama-3.2-3b", "llama", 28, 3072, 24, 8, 8192, 128256, 131072, 500000.f, 1e-5f, true},
    {"qwen2.5-1.5b", "qwen2", 28, 1536, 12, 2, 8960, 151936, 32768, 1000000.f, 1e-6f, false},
    {"tiny", "llama", 2, 256, 4, 2, 512, 1000, 4096, 10000.f, 1e-5f, false},
}};

// Row seeds and values come from SplitMix64 (core/splitmix.h).
uint64_t fnv1a(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Approximately standard normal: four 16-bit uniforms, centred and scaled to unit variance
// (each U[0,1) has variance 1/12, the sum 1/3).
inline float normal(SplitMix& rng) {
  const uint64_t r = rng.next();
  const uint32_t s = static_cast<uint32_t>(r & 0xFFFF) + static_cast<uint32_t>((r >> 16) & 0xFFFF) +
                     static_cast<uint32_t>((r >> 32) & 0xFFFF) + static_cast<uint32_t>(r >> 48);
  constexpr float kScale = 1.7320508f / 65536.f;  // √3 / 2^16
  return (static_cast<float>(s) - 131070.f) * kScale;
}

// Llama 3 RoPE frequency scaling (as llama.cpp's converter computes rope_freqs.weight): the
// divisor of each pair's frequency.
std::vector<float> llama3_rope_factors(int head_dim, float base) {
  constexpr double kFactor = 32, kLow = 1, kHigh = 4, kOriginalContext = 8192;
  const double low_wavelen = kOriginalContext / kLow;
  const double high_wavelen = kOriginalContext / kHigh;
  std::vector<float> out;
  for (int i = 0; i < head_dim; i += 2) {
    const double freq = 1.0 / std::pow(static_cast<double>(base), static_cast<double>(i) / head_dim);
    const double wavelen = 2 * std::numbers::pi / freq;
    double f;
    if (wavelen < high_wavelen) {
      f = 1;
    } else if (wavelen > low_wavelen) {
      f = kFactor;
    } else {
      const double smooth = (kOriginalContext / wavelen - kLow) / (kHigh - kLow);
      f = 1 / ((1 - smooth) / kFactor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return out;
}

// A SentencePiece-style vocabulary of n tokens laid out like LLaMA's: <unk>, <s>, </s>, the 256
// byte tokens, "▁", the printable ASCII characters, then "▁w" and "w" for lower-case words w of
// growing length, scores decreasing with the id.
void synthetic_vocab(int n, std::vector<std::pair<std::string, Value>>& md) {
  std::vector<std::string> texts = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  static const char kHex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b) {
    texts.push_back(std::string("<0x") + kHex[b >> 4] + kHex[b & 15] + ">");
    types.push_back(6);
  }
  const std::string kSpace = "\xE2\x96\x81";  // U+2581
  auto add = [&](std::string s) {
    if (static_cast<int>(texts.size()) < n) {
      texts.push_back(std::move(s));
      types.push_back(1);
    }
  };
  add(kSpace);
  for (char c = '!'; c <= '~'; ++c) add(std::string(1, c));
  for (int len = 1; static_cast<int>(texts.size()) < n; ++len) {
    std::string w(static_cast<size_t>(len), 'a');
    while (static_cast<int>(texts.size()) < n) {
      add(kSpace + w);
      if (len > 1) add(w);
      int k = len - 1;  // next word of this length
      while (k >= 0 && w[static_cast<size_t>(k)] == 'z') w[static_cast<size_t>(k--)] = 'a';
      if (k < 0) break;
      ++w[static_cast<size_t>(k)];
    }
  }
  std::vector<Value> tokens, scores, token_types;
  for (size_t i = 0; i < texts.size(); ++i) {
    tokens.push_back(Value::of_string(texts[i]));
    scores.push_back(Value::of_f32(types[i] == 1 ? -static_cast<float>(i - 259) : 0.0f));
    token_types.push_back(Value::of_i32(types[i]));
  }
  md.emplace_back("tokenizer.ggml.model", Value::of_string("llama"));
  md.emplace_back("tokenizer.ggml.pre", Value::of_string("default"));
  md.emplace_back("tokenizer.ggml.tokens", Value::of_array(ValueType::string, std::move(tokens)));
  md.emplace_back("tokenizer.ggml.scores", Value::of_array(ValueType::f32, std::move(scores)));
  md.emplace_back("tokenizer.ggml.token_type",
                  Value::of_array(ValueType::i32, std::move(token_types)));
  md.emplace_back("tokenizer.ggml.bos_token_id", Value::of_u32(1));
  md.emplace_back("tokenizer.ggml.eos_token_id", Value::of_u32(2));
  md.emplace_back("tokenizer.ggml.unknown_token_id", Value::of_u32(0));
  md.emplace_back("tokenizer.ggml.add_bos_token", Value::of_bool(true));
  md.emplace_back("tokenizer.ggml.add_eos_token", Value::of_bool(false));
}

// The model::Hparams a shape is written with (describe() reads them back).
model::Hparams hparams_of(const SynthShape& s, const model::ArchSpec& spec, int n_vocab) {
  model::Hparams hp;
  hp.arch = std::string(spec.name);
  hp.rope_style = spec.rope_style;
  hp.n_vocab = n_vocab;
  hp.n_ctx_train = s.n_ctx;
  hp.n_embd = s.n_embd;
  hp.n_layer = s.n_layer;
  hp.n_ff = s.n_ff;
  hp.n_head = s.n_head;
  hp.n_head_kv = s.n_head_kv;
  hp.head_dim = s.n_embd / s.n_head;
  hp.rms_eps = s.rms_eps;
  hp.rope_base = s.rope_base;
  return hp;
}

}  // namespace

std::span<const SynthShape> synth_shapes() { return kShapes; }

const SynthShape* find_synth_shape(std::string_view name) {
  for (const SynthShape& s : kShapes)
    if (s.name == name) return &s;
  return nullptr;
}

std::string synth_shape_names() {
  std::string out;
  for (const SynthShape& s : kShapes) out += (out.empty() ? "" : ", ") + std::string(s.name);
  return out;
}

SynthPlan plan_synth(const SynthOptions& o) {
  SynthPlan plan;
  plan.shape = find_synth_shape(o.shape);
  if (plan.shape == nullptr)
    throw Error(ErrorKind::invalid_input,
                "unknown shape '" + o.shape + "'; known shapes: " + synth_shape_names());
  const SynthShape& s = *plan.shape;
  plan.arch = o.arch.empty() ? std::string(s.arch) : o.arch;
  // synth writes separate Q/K/V projections and a gated FFN: the llama and qwen2 rows.
  const model::ArchSpec* spec = model::find_arch(plan.arch);
  if (spec == nullptr || spec->qkv != model::QkvLayout::separate ||
      spec->ffn != model::FfnLayout::gated || !model::plain_llama_block(*spec))
    throw Error(ErrorKind::invalid_input,
                "unknown architecture '" + plan.arch + "'; synth writes llama or qwen2");
  plan.preset = find_preset(o.preset);
  if (plan.preset == nullptr)
    throw Error(ErrorKind::invalid_input,
                "unknown type '" + o.preset + "'; supported: " + preset_names());
  plan.seed = o.seed;

  // Tokenizer first: it decides n_vocab.
  std::vector<std::pair<std::string, Value>> tokenizer_md;
  plan.n_vocab = s.n_vocab;
  if (o.vocab) {
    const gguf::File vocab = gguf::File::open(*o.vocab);
    const Value* tokens = vocab.get_array("tokenizer.ggml.tokens", ValueType::string);
    if (tokens == nullptr || tokens->items.empty())
      throw Error(ErrorKind::corrupt_file, vocab.name() + ": no tokenizer.ggml.tokens");
    for (const auto& kv : vocab.metadata())
      if (kv.first.rfind("tokenizer.", 0) == 0) tokenizer_md.push_back(kv);
    plan.n_vocab = static_cast<int>(tokens->items.size());
    if (plan.n_vocab != s.n_vocab)
      plan.notes.push_back("the vocabulary has " + std::to_string(plan.n_vocab) +
                           " tokens; token_embd gets that many rows instead of the shape's " +
                           std::to_string(s.n_vocab));
  } else {
    synthetic_vocab(plan.n_vocab, tokenizer_md);
  }

  plan.hparams = hparams_of(s, *spec, plan.n_vocab);
  const model::Hparams& hp = plan.hparams;
  const int head_dim = hp.head_dim;
  const int64_t n_kv = hp.n_kv_dim();
  const int64_t n_q = hp.n_q_dim();
  const int64_t E = hp.n_embd, F = hp.n_ff;
  auto matrix = [](std::string name, int64_t n_in, int64_t n_out) {
    return SynthTensor{std::move(name), {n_in, n_out}, TensorType::f32, SynthInit::normal,
                       1.5f / std::sqrt(static_cast<float>(n_in))};
  };
  auto vec = [](std::string name, int64_t n, SynthInit init, float sd) {
    return SynthTensor{std::move(name), {n}, TensorType::f32, init, sd};
  };

  namespace tn = model::tensors;
  std::vector<SynthTensor> t;
  if (spec->rope_freqs && s.llama3_rope)
    t.push_back(vec(std::string(tn::kRopeFreqs), head_dim / 2, SynthInit::rope_freqs, 0));
  t.push_back({std::string(tn::kTokenEmbd), {E, plan.n_vocab}, TensorType::f32, SynthInit::normal,
               2.4f / std::sqrt(static_cast<float>(E))});
  for (int il = 0; il < hp.n_layer; ++il) {
    auto name = [il](std::string_view suffix) { return model::layer_tensor(il, suffix); };
    t.push_back(vec(name(tn::kAttnNorm), E, SynthInit::norm, 0.1f));
    t.push_back(matrix(name(tn::kAttnQ), E, n_q));
    t.push_back(matrix(name(tn::kAttnK), E, n_kv));
    t.push_back(matrix(name(tn::kAttnV), E, n_kv));
    if (spec->qkv_bias) {
      t.push_back(vec(name(tn::kAttnQBias), n_q, SynthInit::normal, 0.1f));
      t.push_back(vec(name(tn::kAttnKBias), n_kv, SynthInit::normal, 0.1f));
      t.push_back(vec(name(tn::kAttnVBias), n_kv, SynthInit::normal, 0.1f));
    }
    t.push_back(matrix(name(tn::kAttnOutput), n_q, E));
    t.push_back(vec(name(tn::kFfnNorm), E, SynthInit::norm, 0.1f));
    t.push_back(matrix(name(tn::kFfnGate), E, F));
    t.push_back(matrix(name(tn::kFfnUp), E, F));
    t.push_back(matrix(name(tn::kFfnDown), F, E));
  }
  t.push_back(vec(std::string(tn::kOutputNorm), E, SynthInit::norm, 0.1f));

  // Types by the preset's rules, in llama.cpp's order (which is also the file order).
  std::vector<TensorDesc> descs;
  for (const SynthTensor& x : t) descs.push_back({x.name, x.ne, TensorType::f32});
  const std::vector<size_t> order = llama_model_order(descs);
  std::vector<TensorDesc> ordered;
  for (size_t i : order) ordered.push_back(descs[i]);
  ModelFacts facts;
  facts.shape = hp;
  facts.has_output = false;
  const std::vector<TensorType> types = plan_tensor_types(*plan.preset, facts, ordered);
  for (size_t k = 0; k < order.size(); ++k) {
    plan.tensors.push_back(t[order[k]]);
    plan.tensors.back().type = types[k];
    int64_t n = 1;
    for (int64_t d : plan.tensors.back().ne) n *= d;
    plan.parameter_count += static_cast<uint64_t>(n);
  }

  auto& md = plan.metadata;
  md.emplace_back(model::keys::kArchitecture, Value::of_string(hp.arch));
  md.emplace_back("general.name", Value::of_string("RANDOM WEIGHTS (hearth synth, " + std::string(s.name) +
                                                   " shape, seed " + std::to_string(o.seed) +
                                                   ") - not a trained model"));
  for (auto& kv : model::shape_metadata(hp)) md.push_back(std::move(kv));
  for (auto& kv : tokenizer_md) md.push_back(std::move(kv));
  md.emplace_back("general.quantization_version", Value::of_u32(2));
  md.emplace_back("general.file_type", Value::of_u32(plan.preset->file_type));

  std::vector<TensorSpec> specs;
  for (const SynthTensor& x : plan.tensors) specs.push_back({x.name, x.type, x.ne});
  plan.file_size = StreamWriter::planned_size(plan.metadata, specs);
  return plan;
}

uint64_t write_synth(const SynthPlan& plan, const std::filesystem::path& out,
                     const std::function<void(const TensorProgress&)>& on_tensor,
                     size_t n_threads) {
  std::vector<TensorSpec> specs;
  for (const SynthTensor& x : plan.tensors) specs.push_back({x.name, x.type, x.ne});
  StreamWriter writer(out, plan.metadata, specs);
  RowConverter converter(n_threads);
  const int head_dim = plan.hparams.head_dim;
  for (size_t k = 0; k < plan.tensors.size(); ++k) {
    const SynthTensor& x = plan.tensors[k];
    const int64_t ne0 = x.ne[0];
    int64_t rows = 1;
    for (size_t d = 1; d < x.ne.size(); ++d) rows *= x.ne[d];
    const uint64_t tensor_seed = SplitMix{plan.seed ^ fnv1a(x.name)}.next();
    if (x.init == SynthInit::rope_freqs) {
      const std::vector<float> f = llama3_rope_factors(head_dim, plan.hparams.rope_base);
      converter.generate(ne0, rows, x.type,
                         [&](int64_t, int64_t, float* o) { std::copy(f.begin(), f.end(), o); },
                         writer);
    } else {
      const float mean = x.init == SynthInit::norm ? 1.0f : 0.0f;
      converter.generate(
          ne0, rows, x.type,
          [&](int64_t first, int64_t n, float* o) {
            for (int64_t r = 0; r < n; ++r) {
              SplitMix rng{tensor_seed ^ (static_cast<uint64_t>(first + r) * 0xD1B54A32D192ED03ull)};
              rng.next();
              float* row = o + r * ne0;
              for (int64_t i = 0; i < ne0; ++i) row[i] = mean + x.sd * normal(rng);
            }
          },
          writer);
    }
    if (on_tensor) {
      TensorProgress p;
      p.index = k;
      p.count = plan.tensors.size();
      p.name = x.name;
      p.ne = x.ne;
      p.from = TensorType::f32;
      p.to = x.type;
      p.bytes_out = writer.tensor_bytes(k);
      p.converted = true;
      on_tensor(p);
    }
  }
  writer.finish();
  return writer.file_size();
}

}  // namespace hearth::quantize
