// ModelRunner's prompt cache (RunnerOptions::prompt_cache, keep_conversation): which cached
// tokens a new prompt may reuse, and which free slot a request should take.
//
// Exactness with batch_invariant: a cell's numbers depend on its token, the cells before it and
// which kernels computed it: the one-token ones (a token alone from its sequence in a step: a
// generated token, or a prompt's last chunk when it is one token long) or the many-token ones
// (a prompt chunk of two or more; each row's result does not depend on how many rows the chunk
// has, kernels/matmul.h, and attention reads every key from the cache, one query at a time). A
// cold run cuts its prompt into chunks of max_batch counted from the start, so it computes every
// position with the many-token kernels except, when the last chunk is one token long, the last
// one. The warm run therefore reuses only cells computed with the many-token kernels (never a
// generated answer: its tokens come back as the next prompt's and are decoded again), keeps the
// cold run's cut for the rest (runner_step.cpp: chunks end at multiples of max_batch), and steps
// back one token when its first chunk would be a lone token where the cold run's chunk holds
// more. Every position then goes through the same kernels with the same inputs as in the cold
// run, so the logits, and the greedy text, are the same bits.
#include <algorithm>
#include <limits>

#include "engine/generate/runner.h"
#include "engine/generate/sequence.h"

namespace hearth::generate {

int Runner::choose_slot(const Request&, std::span<const int> free) { return free.front(); }

size_t ModelRunner::reusable(size_t slot, std::span<const int32_t> tokens) const {
  if (tokens.empty()) return 0;
  const std::vector<int32_t>& cached = cached_[slot];
  // At least the last prompt token is decoded again: its logits give the first new token.
  size_t limit = std::min(cached.size(), tokens.size() - 1);
  if (options_.batch_invariant) limit = std::min(limit, exact_[slot]);
  size_t common = 0;
  while (common < limit && cached[common] == tokens[common]) ++common;
  if (options_.batch_invariant && common > 0) {
    const size_t chunk = static_cast<size_t>(std::max(1, options_.max_batch));
    const size_t n = tokens.size();
    const size_t cold_start = common - common % chunk;  // the cold chunk holding `common`
    const size_t cold_size = std::min(chunk, n - cold_start);
    const size_t warm_size = std::min(chunk - common % chunk, n - common);
    if (warm_size == 1 && cold_size > 1) --common;  // same chunk, so two tokens from it
  }
  return common;
}

int ModelRunner::choose_slot(const Request& request, std::span<const int> free) {
  HEARTH_ASSERT(!free.empty(), "choose_slot needs a free slot");
  if (!options_.prompt_cache || free.size() == 1) return free.front();
  std::vector<int32_t> tokens;
  if (!request.messages.empty() || !request.prompt.empty()) {
    try {
      tokens = tokenizer().encode(render(request), /*add_special=*/false);
    } catch (const std::exception&) {
      tokens.clear();  // start() reports what is wrong with the request
    }
  }
  auto same_files = [](const std::vector<LoraFile>& a, const std::vector<LoraFile>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const LoraFile& x, const LoraFile& y) {
                        return x.path == y.path && x.scale == y.scale;
                      });
  };
  int best = free.front();
  size_t best_len = 0;
  std::uint64_t best_used = std::numeric_limits<std::uint64_t>::max();
  for (const int slot : free) {
    const auto s = static_cast<size_t>(slot);
    const bool mine =
        owner_[s] == request.cache_owner && same_files(slot_adapters_[s], request.adapters);
    size_t len = mine ? reusable(s, tokens) : 0;
    // Reusing a slot evicts what its cache holds beyond the shared part: worth it only when
    // less than that part (the next turn of a chat evicts the last answer; a new chat that
    // shares only the template's first tokens with a cached one goes elsewhere, an empty slot
    // first).
    if (len <= cached_[s].size() - len) len = 0;
    // An empty slot is the first to take when nothing is reused: it evicts nothing.
    const std::uint64_t used = cached_[s].empty() ? 0 : used_[s];
    if (len > best_len || (len == best_len && used < best_used)) {
      best = slot;
      best_len = len;
      best_used = used;
    }
  }
  return best;
}

}  // namespace hearth::generate
