#include "crypto/keyring.h"

#include <list>
#include <map>
#include <mutex>

#include "core/error.h"

namespace hearth::crypto {

namespace {

struct Registry {
  std::mutex mutex;
  std::map<KeyId, Key> keys;
  std::list<std::weak_ptr<KeySource>> sources;
  std::function<std::shared_ptr<void>()> fallback;
  std::shared_ptr<void> fallback_handle;  // set once the fallback ran
};

Registry& registry() {
  static Registry* r = new Registry();  // never destroyed: readers may run during exit
  return *r;
}

}  // namespace

std::shared_ptr<void> add_key_source(KeySource source) {
  auto held = std::make_shared<KeySource>(std::move(source));
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.sources.push_back(held);
  return held;
}

void remember_key(const DataKey& key) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.keys.insert_or_assign(key.id, key.key);
}

void set_key_fallback(std::function<std::shared_ptr<void>()> open) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.fallback = std::move(open);
}

namespace {

std::optional<Key> ask_sources(const KeyId& id) {
  Registry& r = registry();
  std::vector<std::shared_ptr<KeySource>> sources;
  {
    std::lock_guard lock(r.mutex);
    if (auto it = r.keys.find(id); it != r.keys.end()) return it->second;
    for (auto it = r.sources.begin(); it != r.sources.end();) {
      if (auto s = it->lock()) {
        sources.push_back(std::move(s));
        ++it;
      } else {
        it = r.sources.erase(it);
      }
    }
  }
  // Asked outside the lock: a source reads its database.
  for (const auto& source : sources) {
    if (std::optional<Key> k = (*source)(id)) {
      remember_key({id, *k});
      return *k;
    }
  }
  return std::nullopt;
}

}  // namespace

Key find_key(const KeyId& id) {
  if (std::optional<Key> k = ask_sources(id)) return *k;
  Registry& r = registry();
  std::function<std::shared_ptr<void>()> fallback;
  {
    std::lock_guard lock(r.mutex);
    if (!r.fallback_handle) fallback = r.fallback;
  }
  if (fallback) {
    std::shared_ptr<void> handle = fallback();
    {
      std::lock_guard lock(r.mutex);
      r.fallback_handle = handle ? handle : std::make_shared<int>(0);
    }
    if (std::optional<Key> k = ask_sources(id)) return *k;
  }
  throw Error(ErrorKind::unavailable, "an encrypted file's key (id " + key_id_hex(id) +
                                          ") is not in this installation's database");
}

}  // namespace hearth::crypto
