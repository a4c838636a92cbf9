// Tiled attention over a KV cache read in place: the kernel the forward pass runs for every
// (sequence, KV head, block of query rows).
//
// One call takes nq query rows that share a KV head (the n_rep query heads of one or more
// tokens of one sequence). The sequence's cached rows are listed by `cells` (in position order);
// query row i attends to list entries [lo[i], hi[i]) (its causal prefix, or its sliding window).
// Keys are walked in tiles of kAttentionTile list entries, aligned to entry 0 whatever the other
// rows of the call, so a row's result depends on its own query and range only. Each tile's K and
// V rows are widened to F32 once (F16 and Q8_0 through the set's to_float) and used by every row
// of the call; scores are scaled dot products, softmax is online (a running max and sum per
// row, earlier partial outputs rescaled when the max grows), and P·V is accumulated per tile.
//
// Two layouts, chosen by nq: with many rows the query rows sit in SIMD lanes (scores, softmax
// and P·V are all lane-parallel, no horizontal sums); with few rows (decoding: one token's n_rep
// heads) the head dimension does. The same source is compiled for every kernel set
// (attention_block.inc): portable code for `reference`, and AVX2 / AVX-512 builds.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/kernels/kernels.h"

namespace hearth::kernels {

inline constexpr int kAttentionTile = 64;      // keys per tile
inline constexpr int kAttentionMaxRows = 64;   // query rows per call

struct AttentionBlock {
  int nq = 0;                          // query rows, 1..kAttentionMaxRows
  int head_dim = 0;
  float scale = 1.0f;                  // applied to every q·k
  const float* const* q = nullptr;     // nq rows of head_dim floats
  float* const* out = nullptr;         // nq rows of head_dim floats, written
  const int* lo = nullptr;             // per row: first list entry attended to
  const int* hi = nullptr;             // per row: one past the last (hi > lo)
  // The KV head's rows: entry j of `cells` is the cell whose row starts at k + cells[j]·stride
  // bytes (same for v); rows hold head_dim values of the cache type.
  const char* k = nullptr;
  const char* v = nullptr;
  size_t stride = 0;                   // bytes from one cell's row to the next
  const int* cells = nullptr;
  // Row widening for F16 / Q8_0 caches (the set's TypeOps::to_float); null for F32 rows.
  void (*to_float)(const void* row, float* out, int64_t n) = nullptr;
  // The rows are F16: the AVX2 and AVX-512 builds widen them inline (one conversion instruction
  // per 8 or 16 values) instead of calling to_float once per row, which at depth costs more
  // than the conversion itself. to_float stays set for the portable build.
  bool f16 = false;
  float* scratch = nullptr;            // attention_scratch_floats(nq, head_dim) floats
};

// Floats of scratch one call needs.
size_t attention_scratch_floats(int nq, int head_dim);

using AttentionKernel = void (*)(const AttentionBlock& block);
// The kernel of `set` (which must be available on this CPU).
AttentionKernel attention_kernel(KernelSet set);

}  // namespace hearth::kernels
