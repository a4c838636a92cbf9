// The LoRA adapters a ModelRunner loaded for requests (Request::adapters), kept by path so that
// the many requests of one fine-tuned version read its file once. Private to engine/generate.
//
// An entry remembers the file's size and modification time; a file replaced since (a new
// training run written to the same path) is read again. Entries no sequence uses any more (the
// cache holds the only reference) are evicted least recently used first once there are more
// than `keep`; adapters in use are never dropped, so the cache can hold more while they run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "engine/model/lora.h"

namespace hearth::generate {

class AdapterCache {
 public:
  explicit AdapterCache(size_t keep) : keep_(keep) {}

  // The adapter at `path`, checked against `model` (model::LoraAdapter::load's errors, nothing
  // cached then).
  std::shared_ptr<const model::LoraAdapter> get(const std::string& path, const model::Model& model);

  size_t size() const { return entries_.size(); }
  // Bytes of A and B of every adapter held.
  std::uint64_t bytes() const;

 private:
  struct Entry {
    std::shared_ptr<const model::LoraAdapter> adapter;
    std::uintmax_t file_size = 0;
    std::filesystem::file_time_type mtime;
    std::uint64_t last_used = 0;
  };
  void evict();

  size_t keep_;
  std::uint64_t clock_ = 0;  // counts get() calls, for least recently used
  std::map<std::string, Entry> entries_;
};

}  // namespace hearth::generate
