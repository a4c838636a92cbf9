// Word -> token ids, remembered per vocabulary so a word seen before skips the merge loop
// (internal to the tokenizer module, apart from the on/off switch at the end that tests and
// benchmarks use). Both encoders cut their text into pieces whose ids do not depend on the text
// around them (a pre-tokenized word for "gpt2", a "▁"-led word for "llama"
// when the vocabulary allows it; see Vocab::spm_word_split), so a cached answer is exactly what
// the merges would give.
//
// Shape: 16 shards chosen by the word's hash, each a mutex, a hash map from the word to a run of
// ids in one flat id array, and fixed caps on entries and ids. A shard that reaches a cap is
// emptied and starts over: the cost stays bounded (at most 16k words per vocabulary) without
// LRU bookkeeping on every hit, and common words come back within a few hundred words. The caps
// are small on purpose (16k words, about 1.5 MiB): a bigger table gains few hits on real text but
// pushes the merge tables out of the CPU caches when most words are new. Words
// longer than kMaxWordBytes are never stored (long runs seldom repeat), and a word is stored
// the second time it is offered, so text where most words are new (names, numbers, code
// identifiers) pays one bit per new word rather than a table entry. Shared by every thread
// that encodes with the vocabulary; an uncontended lock costs far less than one merge loop, and
// 16 shards keep threads that encode at the same time mostly apart.
#pragma once

#include <array>
#include <bitset>
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
  static constexpr size_t kMaxEntriesPerShard = 1024;
  static constexpr size_t kMaxIdsPerShard = 4 * kMaxEntriesPerShard;
  static constexpr size_t kSeenBits = 16384;  // per shard

  WordCache() = default;
  WordCache(const WordCache&) = delete;
  WordCache& operator=(const WordCache&) = delete;

  // Appends the ids stored for `word` to `out` and returns true; false (out untouched) when the
  // word is not stored.
  bool lookup(std::string_view word, std::vector<int32_t>& out) const;
  // Stores the ids of `word` if it was offered before (a first offer only marks the word as
  // seen); no-op for an empty or too long word, or one already stored.
  void insert(std::string_view word, std::span<const int32_t> ids);

  size_t size() const;  // words stored now, over all shards
  void clear();

 private:
  // A word looked up with its hash already computed (the shard was chosen by it), so the map
  // does not hash it a second time.
  struct Probe {
    std::string_view word;
    size_t hash;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    size_t operator()(const Probe& p) const { return p.hash; }
  };
  struct Equal {
    using is_transparent = void;
    bool operator()(const std::string& a, const std::string& b) const { return a == b; }
    bool operator()(const Probe& p, const std::string& s) const { return p.word == s; }
    bool operator()(const std::string& s, const Probe& p) const { return p.word == s; }
  };
  struct Run {
    uint32_t offset;
    uint32_t count;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Run, Hash, Equal> runs;
    std::vector<int32_t> ids;
    // Words offered to insert() once, by a bit of their hash (a false "seen" only stores a word
    // one sighting early).
    std::bitset<kSeenBits> seen;
    size_t seen_count = 0;  // bits set since the last reset
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
