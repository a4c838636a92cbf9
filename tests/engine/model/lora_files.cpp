#include "lora_files.h"

#include <cmath>
#include <list>
#include <map>
#include <random>
#include <span>

#include "engine/gguf/gguf.h"
#include "engine/kernels/kernels.h"

namespace hearth::model::test {

namespace {

std::span<const uint8_t> bytes_of(const std::vector<float>& v) {
  return {reinterpret_cast<const uint8_t*>(v.data()), v.size() * sizeof(float)};
}

std::vector<float> random_values(size_t n, float spread, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, spread);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

}  // namespace

void write_adapter(const std::filesystem::path& path, const AdapterFile& file) {
  gguf::Writer w;
  if (!file.arch.empty()) w.set("general.architecture", gguf::Value::of_string(file.arch));
  w.set("general.type", gguf::Value::of_string(file.general_type));
  w.set("adapter.type", gguf::Value::of_string(file.adapter_type));
  w.set("adapter.lora.alpha", gguf::Value::of_f32(file.alpha));
  for (const AdapterTensor& t : file.tensors)
    w.add_tensor(t.name, gguf::TensorType::f32, t.ne, bytes_of(t.values));
  w.write(path);
}

void add_random_pair(AdapterFile& file, const std::string& base, int64_t n_in, int64_t n_out,
                     int64_t rank, uint32_t seed) {
  // A spread of 1/sqrt(n_in) keeps A x near the size of x; B's spread makes the term visible.
  const float a_spread = 1.0f / std::sqrt(static_cast<float>(n_in));
  file.tensors.push_back({base + ".lora_a", {n_in, rank},
                          random_values(static_cast<size_t>(n_in * rank), a_spread, seed)});
  file.tensors.push_back({base + ".lora_b", {rank, n_out},
                          random_values(static_cast<size_t>(rank * n_out), 0.05f, seed + 1)});
}

AdapterFile random_adapter(const std::filesystem::path& model,
                           const std::vector<std::string>& suffixes, int64_t rank, float alpha,
                           uint32_t seed) {
  const gguf::File base = gguf::File::open(model);
  AdapterFile out;
  out.arch = base.get_string("general.architecture").value_or("");
  out.alpha = alpha;
  for (const gguf::TensorInfo& t : base.tensors()) {
    if (t.ne.size() != 2) continue;
    for (const std::string& suffix : suffixes)
      if (t.name.starts_with("blk.") && t.name.ends_with("." + suffix))
        add_random_pair(out, t.name, t.ne[0], t.ne[1], rank, seed += 2);
  }
  return out;
}

void write_merged(const std::filesystem::path& model, const AdapterFile& adapter, float scale,
                  const std::filesystem::path& out) {
  const gguf::File base = gguf::File::open(model);
  std::map<std::string, const AdapterTensor*> by_name;
  for (const AdapterTensor& t : adapter.tensors) by_name[t.name] = &t;

  gguf::Writer w;
  for (const auto& [key, value] : base.metadata()) w.set(key, value);
  std::list<std::vector<float>> merged;  // kept alive until the file is written
  for (const gguf::TensorInfo& t : base.tensors()) {
    const auto a = by_name.find(t.name + ".lora_a");
    if (a == by_name.end()) {
      w.add_tensor(t.name, t.type, t.ne, base.tensor_data(t));
      continue;
    }
    const AdapterTensor& b = *by_name.at(t.name + ".lora_b");
    const int64_t n_in = t.ne[0], n_out = t.ne[1], r = a->second->ne[1];
    std::vector<float>& m = merged.emplace_back(static_cast<size_t>(n_in * n_out));
    kernels::type_ops(t.type, kernels::KernelSet::reference)
        ->to_float(base.tensor_data(t).data(), m.data(), n_in * n_out);
    const double s = static_cast<double>(scale) * adapter.alpha / static_cast<double>(r);
    for (int64_t row = 0; row < n_out; ++row)
      for (int64_t c = 0; c < n_in; ++c) {
        double sum = 0;
        for (int64_t k = 0; k < r; ++k)
          sum += static_cast<double>(b.values[static_cast<size_t>(row * r + k)]) *
                 a->second->values[static_cast<size_t>(k * n_in + c)];
        m[static_cast<size_t>(row * n_in + c)] += static_cast<float>(s * sum);
      }
    w.add_tensor(t.name, gguf::TensorType::f32, t.ne, bytes_of(m));
  }
  w.write(out);
}

}  // namespace hearth::model::test
