#include "conformance_run.h"

#include <gtest/gtest.h>

#include <iostream>

#include "core/thread_pool.h"
#include "engine/model/context.h"
#include "reference.h"

namespace hearth::model::test {

namespace {

namespace fs = std::filesystem;
using kernels::Arithmetic;

std::string arithmetic_name(Arithmetic a) {
  return a == Arithmetic::exact_f32 ? "exact_f32" : "quantized_activations";
}

// Which reference a run compares with, and at what tolerance (README §5.2's table).
struct Target {
  fs::path json;
  float tol;
};

Target pick_target(const fs::path& ref_dir, const std::string& stem, const Model& model,
                   Arithmetic a) {
  bool quantized = false, f16 = false;
  for (const gguf::TensorInfo& t : model.file().tensors()) {
    f16 |= t.type == gguf::TensorType::f16;
    quantized |= t.type != gguf::TensorType::f16 && t.type != gguf::TensorType::f32;
  }
  const fs::path dequant = ref_dir / (stem + ".dequant-f32.ref.json");
  if (a == Arithmetic::exact_f32)
    return {fs::exists(dequant) ? dequant : ref_dir / (stem + ".ref.json"), 1e-3f};
  return {ref_dir / (stem + ".ref.json"), quantized ? 0.3f : f16 ? 1e-2f : 1e-3f};
}

// One sequence being checked: its reference case and its sequence id in the context.
struct SeqRun {
  const RefCase* c;
  int seq;
};

// Decodes the prompts of `runs` as the batching asks, checking every prompt position.
void check_prompts(Context& ctx, const std::vector<SeqRun>& runs, Batching batching,
                   Checker& check) {
  if (batching == Batching::token_by_token) {
    for (const SeqRun& r : runs)
      for (size_t i = 0; i < r.c->tokens.size(); ++i) {
        const BatchEntry e{r.c->tokens[i], static_cast<int>(i), r.seq, true};
        const Logits l = ctx.decode(std::span(&e, 1));
        check.prompt_position(*r.c, static_cast<int>(i), l[0]);
      }
    return;
  }
  // All runs' tokens in one batch, interleaved, logits everywhere.
  std::vector<BatchEntry> batch;
  std::vector<std::pair<const SeqRun*, int>> owner;
  for (size_t i = 0;; ++i) {
    bool any = false;
    for (const SeqRun& r : runs)
      if (i < r.c->tokens.size()) {
        batch.push_back({r.c->tokens[i], static_cast<int>(i), r.seq, true});
        owner.emplace_back(&r, static_cast<int>(i));
        any = true;
      }
    if (!any) break;
  }
  const Logits l = ctx.decode(batch);
  ASSERT_EQ(l.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    check.prompt_position(*owner[i].first->c, owner[i].second, l[i]);
}

// Greedy steps 1..23, teacher-forced, all runs advancing together in one batch per step.
void check_greedy(Context& ctx, const std::vector<SeqRun>& runs, Checker& check) {
  const size_t n_steps = runs[0].c->greedy.size();
  for (size_t k = 1; k < n_steps; ++k) {
    std::vector<BatchEntry> batch;
    for (const SeqRun& r : runs) {
      const int pos = static_cast<int>(r.c->tokens.size() + k - 1);
      batch.push_back({r.c->greedy[k - 1], pos, r.seq, true});
    }
    const Logits l = ctx.decode(batch);
    for (size_t i = 0; i < runs.size(); ++i)
      check.greedy_step(*runs[i].c, static_cast<int>(k), l[i]);
  }
}

}  // namespace

std::vector<RunMode> all_modes() {
  std::vector<RunMode> out;
  for (Batching b : {Batching::one_batch, Batching::token_by_token, Batching::two_sequences}) {
    out.push_back({Arithmetic::exact_f32, b, false});
    out.push_back({Arithmetic::quantized_activations, b, false});
    out.push_back({Arithmetic::quantized_activations, b, true});
  }
  return out;
}

std::string batching_name(Batching b) {
  switch (b) {
    case Batching::one_batch:
      return "one_batch";
    case Batching::token_by_token:
      return "token_by_token";
    case Batching::two_sequences:
      return "two_sequences";
  }
  return "?";
}

std::string mode_name(const RunMode& m) {
  return (m.fast ? std::string(kernels::kernel_set_name(kernels::active_kernel_set())) + "_2threads_"
                 : std::string("reference_")) +
         arithmetic_name(m.arithmetic);
}

std::string identifier(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

void run_conformance(const ConformanceRun& run) {
  const RunMode& m = run.mode;
  ASSERT_TRUE(fs::exists(run.model)) << run.model;
  const std::shared_ptr<const Model> model = Model::load(run.model);
  const Target target = pick_target(run.ref_dir, run.ref_stem, *model, m.arithmetic);
  const Reference& ref = load_reference(target.json);
  ASSERT_EQ(ref.n_vocab, model->n_vocab());
  // A reference that states its own tolerance (arch/, README §6b) replaces §5.2's.
  const float tol = ref.tolerance > 0 ? ref.tolerance : target.tol;

  std::string label = run.model.filename().string();
  for (const AppliedLora& a : run.adapters) label += " + " + a.adapter->name;
  label += " " + mode_name(m) + " " + batching_name(m.batching) + " vs " + ref.file;
  if (run.gpu_layers != 0)
    label += run.gpu_layers < 0 ? " (GPU: all layers)"
                                : " (GPU: last " + std::to_string(run.gpu_layers) + " layers)";
  Checker check(label, tol);
  for (const RefCase& c : ref.cases)
    ASSERT_EQ(model->tokenizer().encode(c.prompt, true, false),
              std::vector<int32_t>(c.tokens.begin(), c.tokens.end()))
        << label << " " << c.name << " tokens";

  ContextOptions options;
  options.n_ctx = 1024;
  options.n_seq_max = 2;
  ThreadPool pool(2);
  options.matmul = {m.fast ? kernels::active_kernel_set() : kernels::KernelSet::reference,
                    m.arithmetic, m.fast ? &pool : nullptr};
  options.adapters = run.adapters;
  options.gpu_layers = run.gpu_layers;

  // The groups of cases decoded together.
  std::vector<std::vector<const RefCase*>> groups;
  switch (m.batching) {
    case Batching::one_batch:
      for (const RefCase& c : ref.cases)
        if (run.max_cases == 0 || static_cast<int>(groups.size()) < run.max_cases)
          groups.push_back({&c});
      break;
    case Batching::token_by_token:
      groups.push_back({&ref.cases.at(0)});
      break;
    case Batching::two_sequences:
      groups.push_back({&ref.cases.at(0), &ref.cases.at(1)});
      break;
  }
  for (const auto& group : groups) {
    Context ctx(model, options);
    std::vector<SeqRun> runs;
    for (size_t i = 0; i < group.size(); ++i) runs.push_back({group[i], static_cast<int>(i)});
    check_prompts(ctx, runs, m.batching, check);
    for (const SeqRun& r : runs) EXPECT_EQ(ctx.n_past(r.seq), static_cast<int>(r.c->tokens.size()));
    check_greedy(ctx, runs, check);
  }
  std::cout << "[ result   ] " << label << ": max |diff|";
  for (const auto& [name, d] : check.max_abs_diff_per_case()) std::cout << " " << name << " " << d;
  std::cout << " (tol " << tol << "); first greedy step where our argmax differs "
            << check.first_greedy_divergence() << "\n";
  EXPECT_EQ(check.failures(), 0) << label;
}

}  // namespace hearth::model::test
