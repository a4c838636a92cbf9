// Catalog verdicts for a machine and the per-use-case recommendation.
#include <algorithm>

#include "catalog/catalog.h"

namespace hearth::catalog {
namespace {

// Higher is better: comfortable fits before tight ones, then quality, then speed.
bool better(const ModelFit& a, const ModelFit& b) {
  const bool a_tight = a.fit.verdict == hardware::Verdict::tight;
  const bool b_tight = b.fit.verdict == hardware::Verdict::tight;
  if (a_tight != b_tight) return !a_tight;
  if (a.model->quality != b.model->quality) return a.model->quality > b.model->quality;
  return a.model->speed > b.model->speed;
}

}  // namespace

ModelFit assess(const hardware::MachineInfo& machine, const Model& model, const Variant& variant,
                uint32_t n_ctx) {
  ModelFit f;
  f.model = &model;
  f.variant = &variant;
  f.n_ctx = std::min(n_ctx, model.context_length);
  hardware::FitOptions options;
  options.n_ctx = f.n_ctx;
  f.fit = hardware::assess_fit(machine, model.shape(variant), model.requirements, options);
  return f;
}

std::vector<ModelFit> assess_all(const hardware::MachineInfo& machine, const Catalog& catalog,
                                 uint32_t n_ctx) {
  std::vector<ModelFit> out;
  for (const auto& m : catalog.models())
    out.push_back(assess(machine, m, m.default_variant(), n_ctx));
  return out;
}

std::vector<Recommendation> recommend(const std::vector<ModelFit>& fits) {
  std::vector<Recommendation> out;
  for (const auto& f : fits) {
    for (const auto& use_case : f.model->use_cases) {
      auto it = std::find_if(out.begin(), out.end(),
                             [&](const Recommendation& r) { return r.use_case == use_case; });
      if (it == out.end()) {
        out.push_back({use_case, nullptr});
        it = out.end() - 1;
      }
      if (hardware::fits(f.fit.verdict) && (it->choice == nullptr || better(f, *it->choice)))
        it->choice = &f;
    }
  }
  return out;
}

}  // namespace hearth::catalog
