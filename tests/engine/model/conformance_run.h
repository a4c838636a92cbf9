// One conformance check of a model (with any LoRA adapters) against a reference of the pack, by
// README §5.2's recipe, for one kind of arithmetic and one way of batching:
//   one_batch        each prompt in one batch with logits at every position (as the reference)
//   token_by_token   each token of the prompt its own batch (P1 only: the greedy steps already
//                    exercise single-token decoding for every prompt)
//   two_sequences    P1 and P2 interleaved in one batch as sequences 0 and 1, then their greedy
//                    steps two tokens per batch; each must match the reference of decoding it alone
// Greedy steps are teacher-forced (the reference's ids are fed back), so all 24 are compared.
// Shared by the model conformance test (models/) and the LoRA one (lora/).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "engine/kernels/matmul.h"
#include "engine/model/lora.h"

namespace hearth::model::test {

enum class Batching { one_batch, token_by_token, two_sequences };

struct RunMode {
  kernels::Arithmetic arithmetic = kernels::Arithmetic::exact_f32;
  Batching batching = Batching::one_batch;
  bool fast = false;  // the CPU's best kernel set on two threads, instead of the scalar reference
};

// Every batching, each with the scalar reference in both arithmetics and the fast kernels the
// engine uses by default (quantized activations).
std::vector<RunMode> all_modes();

std::string batching_name(Batching b);
// "reference_exact_f32", "avx512_2threads_quantized_activations", ...
std::string mode_name(const RunMode& m);
// For test names: every character that is not a letter or digit becomes '_'.
std::string identifier(std::string s);

struct ConformanceRun {
  std::filesystem::path model;    // the base model file
  std::filesystem::path ref_dir;  // where <ref_stem>.ref.json (and .dequant-f32) are
  std::string ref_stem;           // "llama-gqa-f32", "llama-gqa-f32.lora-r8", ...
  std::vector<AppliedLora> adapters;
  RunMode mode;
  int gpu_layers = 0;  // ContextOptions::gpu_layers: the last N layers on the GPU (-1: all)
  int max_cases = 0;   // check only the reference's first N prompts (0: all of them)
};

// Runs the check with gtest assertions, naming the model, mode, batching and reference file in
// every failure, and prints one "[ result   ]" line with the max |diff| per prompt. The reference
// and its tolerance follow §5.2 from the base file's tensor types: exact_f32 compares with the
// .dequant-f32 reference where there is one (1e-3), quantized activations with .ref.json (0.3
// quantized, 1e-2 F16, 1e-3 F32), unless the reference states its own "tolerance" (arch/).
void run_conformance(const ConformanceRun& run);

}  // namespace hearth::model::test
