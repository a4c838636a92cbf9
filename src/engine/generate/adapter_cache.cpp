// AdapterCache: adapter files by path, re-read when replaced, unused ones evicted beyond a count.
#include "engine/generate/adapter_cache.h"

#include <system_error>

namespace hearth::generate {

std::shared_ptr<const model::LoraAdapter> AdapterCache::get(const std::string& path,
                                                            const model::Model& model) {
  // Size and time as the file is now; when they cannot be read, load() names the problem.
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  const auto mtime =
      ec ? std::filesystem::file_time_type{} : std::filesystem::last_write_time(path, ec);
  const auto it = entries_.find(path);
  if (!ec && it != entries_.end() && it->second.file_size == size && it->second.mtime == mtime) {
    it->second.last_used = ++clock_;
    return it->second.adapter;
  }
  auto adapter = model::LoraAdapter::load(path, model);
  if (ec) return adapter;  // read, but with no identity to check it by later: not kept
  entries_[path] = Entry{adapter, size, mtime, ++clock_};
  evict();
  return adapter;
}

std::uint64_t AdapterCache::bytes() const {
  std::uint64_t total = 0;
  for (const auto& [path, entry] : entries_) total += entry.adapter->bytes();
  return total;
}

void AdapterCache::evict() {
  while (entries_.size() > keep_) {
    auto oldest = entries_.end();
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->second.adapter.use_count() == 1 &&
          (oldest == entries_.end() || it->second.last_used < oldest->second.last_used))
        oldest = it;
    if (oldest == entries_.end()) return;  // every one is in use
    entries_.erase(oldest);
  }
}

}  // namespace hearth::generate
