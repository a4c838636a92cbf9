#include "engine/tokenizer/word_cache.h"

#include <atomic>

namespace hearth::tokenizer {

namespace {
std::atomic<bool> g_enabled{true};
}  // namespace

bool word_cache_enabled() {
  return g_enabled.load(std::memory_order_relaxed);
}

void set_word_cache_enabled(bool enabled) {
  g_enabled.store(enabled, std::memory_order_relaxed);
}

namespace {
size_t seen_bit(size_t hash) {
  return (hash >> 16) % WordCache::kSeenBits;  // other bits than the shard's
}
}  // namespace

bool WordCache::lookup(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty() || word.size() > kMaxWordBytes) return false;
  const size_t hash = Hash{}(word);
  const Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  if (!shard.seen.test(seen_bit(hash))) return false;  // not seen before: cannot be stored
  const auto it = shard.runs.find(Probe{word, hash});
  if (it == shard.runs.end()) return false;
  const int32_t* first = shard.ids.data() + it->second.offset;
  out.insert(out.end(), first, first + it->second.count);
  return true;
}

void WordCache::insert(std::string_view word, std::span<const int32_t> ids) {
  if (word.empty() || word.size() > kMaxWordBytes || ids.size() > kMaxIdsPerShard) return;
  const size_t hash = Hash{}(word);
  Shard& shard = shard_for(hash);
  std::lock_guard lock(shard.mutex);
  const size_t bit = seen_bit(hash);
  if (!shard.seen.test(bit)) {
    // First sighting: only remembered as seen. Words that never come back cost a bit, not an
    // entry; the filter starts over before it fills (when a quarter of its bits are set).
    if (shard.seen_count >= kSeenBits / 4) {
      shard.seen.reset();
      shard.seen_count = 0;
    }
    shard.seen.set(bit);
    ++shard.seen_count;
    return;
  }
  if (shard.runs.size() >= kMaxEntriesPerShard || shard.ids.size() + ids.size() > kMaxIdsPerShard) {
    shard.runs.clear();
    shard.ids.clear();
  }
  const auto offset = static_cast<uint32_t>(shard.ids.size());
  if (!shard.runs.try_emplace(std::string(word), Run{offset, static_cast<uint32_t>(ids.size())})
           .second)
    return;  // another thread stored it first; its ids are the same
  shard.ids.insert(shard.ids.end(), ids.begin(), ids.end());
}

size_t WordCache::size() const {
  size_t n = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.runs.size();
  }
  return n;
}

void WordCache::clear() {
  for (Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    shard.runs.clear();
    shard.ids.clear();
    shard.seen.reset();
    shard.seen_count = 0;
  }
}

}  // namespace hearth::tokenizer
