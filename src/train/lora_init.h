// A fresh adapter for a base model: which weights to adapt (targets in the user's words) and the
// starting values of their factors.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "engine/model/model.h"
#include "train/adapter_file.h"

namespace hearth::train {

// The target names `hearth train --targets` takes, in their default order.
inline constexpr std::string_view kDefaultTargets[] = {"q", "k", "v", "o", "gate", "up", "down"};

// An adapter of `rank` on every layer's weights named by `targets` (q, k, v, o, gate, up, down):
// on fused layouts q/k/v name attn_qkv and gate/up the fused ffn_up (each adapted once); on a
// mixture-of-experts model the FFN targets are skipped (the experts stay frozen). A is
// uniform in ±1/sqrt(n_in) (Kaiming-uniform as PyTorch's LoRA layers start), drawn from a
// generator seeded with `seed` (the same seed gives the same adapter on every platform); B is 0,
// so the adapted model starts equal to the base. Error(invalid_input) for an unknown target name
// or a rank below 1.
LoraAdapter new_adapter(const model::Model& model, std::span<const std::string> targets, int rank,
                        float alpha, uint64_t seed);

}  // namespace hearth::train
