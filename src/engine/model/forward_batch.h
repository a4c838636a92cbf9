// What the layers of one forward pass share, worked out once per batch (forward.cpp, and the
// GPU layers, gpu_layers.h): the RoPE angles of every token, and per kind of layer (global,
// local) the cells attention reads. Shapes: T tokens, D = head_dim. Internal to the model folder.
#pragma once

#include <map>
#include <span>
#include <vector>

#include "engine/model/context.h"

namespace hearth::model {

// One sequence's cells for one kind of layer, in position order, and their positions.
struct SeqCells {
  std::vector<int> cells, pos;
};

struct BatchPlan {
  // RoPE angles per token (T×D/2): the global layers', and the local layers' with their own
  // base (empty when the model has no local layer).
  std::vector<float> cos, sin, cos_local, sin_local;
  bool any_local = false;
  // Per kind of layer (0 global, 1 local) and sequence: the cells attention reads (positions ≤
  // the batch's highest of that sequence), the same for every layer of the kind; per token, the
  // run [lo, hi) of its sequence's list it sees: every earlier position in a global layer, those
  // within the window in a local one.
  std::map<int, SeqCells> seq_cells[2];
  std::vector<int> token_lo[2], token_hi[2];
};

// The plan of a batch whose tokens already hold their cells in `kv`.
BatchPlan plan_batch(std::span<const BatchEntry> batch, const Hparams& hp, const ModelWeights& mw,
                     const KvCache& kv);

}  // namespace hearth::model
