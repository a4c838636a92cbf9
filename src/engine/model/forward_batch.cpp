#include "engine/model/forward_batch.h"

#include <algorithm>

#include "engine/model/ops.h"

namespace hearth::model {

BatchPlan plan_batch(std::span<const BatchEntry> batch, const Hparams& hp, const ModelWeights& mw,
                     const KvCache& kv) {
  BatchPlan plan;
  const auto T = static_cast<int64_t>(batch.size());
  const int D = hp.head_dim;
  plan.any_local = hp.n_layer_swa() > 0;
  plan.cos.resize(static_cast<size_t>(T * D / 2));
  plan.sin.resize(plan.cos.size());
  if (plan.any_local) {
    plan.cos_local.resize(plan.cos.size());
    plan.sin_local.resize(plan.cos.size());
  }
  for (int64_t t = 0; t < T; ++t) {
    rope_angles(batch[t].pos, D, hp.rope_base, mw.rope_freqs, &plan.cos[t * D / 2],
                &plan.sin[t * D / 2], hp.rope_freq_scale);
    if (plan.any_local)
      rope_angles(batch[t].pos, D, hp.rope_base_swa, {}, &plan.cos_local[t * D / 2],
                  &plan.sin_local[t * D / 2]);
  }

  // Per sequence in the batch: the highest position, which bounds what attention reads.
  std::map<int, int> seq_max_pos;
  for (const BatchEntry& e : batch) seq_max_pos[e.seq_id] = std::max(seq_max_pos[e.seq_id], e.pos);

  for (int local = 0; local < (plan.any_local ? 2 : 1); ++local) {
    for (const auto& [seq, max_pos] : seq_max_pos) {
      SeqCells& s = plan.seq_cells[local][seq];
      kv.sequence_cells(seq, max_pos, local != 0, s.cells, s.pos);
    }
    plan.token_lo[local].resize(static_cast<size_t>(T));
    plan.token_hi[local].resize(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      const SeqCells& s = plan.seq_cells[local].at(batch[t].seq_id);
      const int p = batch[t].pos;
      const auto end = std::upper_bound(s.pos.begin(), s.pos.end(), p);
      const auto begin =
          local ? std::lower_bound(s.pos.begin(), end, p - hp.n_swa + 1) : s.pos.begin();
      plan.token_lo[local][static_cast<size_t>(t)] = static_cast<int>(begin - s.pos.begin());
      plan.token_hi[local][static_cast<size_t>(t)] = static_cast<int>(end - s.pos.begin());
    }
  }
  return plan;
}

}  // namespace hearth::model
