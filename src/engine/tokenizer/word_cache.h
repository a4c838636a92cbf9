// Word -> token ids, remembered per vocabulary so a word seen before skips the merge loop
// (internal to the tokenizer module, apart from the on/off switch at the end that tests and
// benchmarks use). Both encoders cut their text into pieces whose ids do not
// depend on the text around them (a pre-tokenized word for "gpt2", a "▁"-led word for "llama"
// when the vocabulary allows it; see Vocab::spm_word_split), so a cached answer is exactly what
// the merges would give.
//
// Shape: 16 shards chosen by the word's hash, each a mutex, a hash map from the word to a run of
// ids in one flat id array, and fixed caps on entries and ids. A shard that reaches a cap is
// emptied and starts over: the cost stays bounded (about 4 MiB per vocabulary at most) without
// LRU bookkeeping on every hit, and common words come back within a few hundred words. Words
// longer than kMaxWordBytes are never stored (long runs seldom repeat). Shared by every thread
// that encodes with the vocabulary; an uncontended lock costs far less than one merge loop, and
// 16 shards keep threads that encode at the same time mostly apart.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace hearth::tokenizer {

class WordCache {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxWordBytes = 64;
  static constexpr size_t kMaxEntriesPerShard = 4096;
  static constexpr size_t kMaxIdsPerShard = 4 * kMaxEntriesPerShard;

  WordCache() = default;
  WordCache(const WordCache&) = delete;
  WordCache& operator=(const WordCache&) = delete;

  // Appends the ids stored for `word` to `out` and returns true; false (out untouched) when the
  // word is not stored.
  bool lookup(std::string_view word, std::vector<int32_t>& out) const;
  // Stores the ids of `word` (no-op for an empty or too long word, or one already stored).
  void insert(std::string_view word, std::span<const int32_t> ids);

  size_t size() const;  // words stored now, over all shards
  void clear();

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Run {
    uint32_t offset;
    uint32_t count;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Run, Hash, std::equal_to<>> runs;
    std::vector<int32_t> ids;
  };
  Shard& shard_for(size_t hash) { return shards_[(hash >> 7) % kShards]; }
  const Shard& shard_for(size_t hash) const { return shards_[(hash >> 7) % kShards]; }

  std::array<Shard, kShards> shards_;
};

// Whether Tokenizer::encode uses the word caches (true unless switched off). One switch for the
// whole process, for tests and benchmarks that compare the two ways; the ids are the same either
// way. Not meant to be flipped while other threads encode (they may see either setting).
bool word_cache_enabled();
void set_word_cache_enabled(bool enabled);

}  // namespace hearth::tokenizer
