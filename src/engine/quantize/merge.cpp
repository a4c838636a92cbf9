// See merge.h.
#include "engine/quantize/merge.h"

#include <map>

#include "engine/model/model.h"

namespace hearth::quantize {

std::vector<TensorEdit> lora_edits(std::span<const model::AppliedLora> adapters) {
  // Every (weight, term) pair, grouped by weight so that one pass over its rows adds them all.
  struct Term {
    const model::LoraWeight* weight;
    float scale;
  };
  std::map<std::string, std::vector<Term>> by_weight;
  for (const auto& applied : adapters)
    for (const auto& w : applied.adapter->weights)
      by_weight[w.base].push_back({&w, applied.adapter->effective_scale(w, applied.scale)});
  std::vector<TensorEdit> edits;
  for (auto& [name, terms] : by_weight) {
    edits.push_back({name, [terms](int64_t first, int64_t n, float* rows) {
                       for (const Term& t : terms) {
                         const model::LoraWeight& w = *t.weight;
                         // Row o of W (n_in values) gains scale · Σ_k B[o][k] · A[k].
                         for (int64_t r = 0; r < n; ++r) {
                           float* row = rows + r * w.n_in;
                           const float* b = w.b.data() + (first + r) * w.rank;
                           for (int64_t k = 0; k < w.rank; ++k) {
                             const float f = t.scale * b[k];
                             const float* a = w.a.data() + k * w.n_in;
                             for (int64_t i = 0; i < w.n_in; ++i) row[i] += f * a[i];
                           }
                         }
                       }
                     }});
  }
  return edits;
}

QuantizeSummary merge_adapters(const std::filesystem::path& base,
                               std::span<const std::pair<std::filesystem::path, float>> adapters,
                               const std::filesystem::path& out, const Preset* preset,
                               const QuantizeCallbacks& callbacks, size_t n_threads) {
  const std::shared_ptr<const model::Model> model = model::Model::load(base);
  std::vector<model::AppliedLora> applied;
  for (const auto& [path, scale] : adapters)
    applied.push_back({model::LoraAdapter::load(path, *model), scale});
  return rewrite_file(base, out, preset, lora_edits(applied), callbacks, n_threads);
}

}  // namespace hearth::quantize
