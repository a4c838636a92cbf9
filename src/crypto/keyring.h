// The process's data keys, by id: what a reader of a sealed file needs when all it has is a path.
// An open database adds itself as a source (db::Database::open), so a file sealed for any of its
// users opens in any module — the trainer reading a dataset, the engine loading an adapter —
// without passing keys through every call.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include "crypto/crypto.h"

namespace hearth::crypto {

struct DataKey {
  KeyId id{};
  Key key{};
};

// Asked for an id the registry does not hold yet; nullopt when the source does not know it.
using KeySource = std::function<std::optional<Key>(const KeyId&)>;

// The source is asked until the returned handle is destroyed.
std::shared_ptr<void> add_key_source(KeySource source);
// Called once, the first time no source knows an id: opens what holds the keys (the CLI opens its
// database, which adds itself as a source) and returns a handle kept for the process's life.
// A command that reads a file the user named (`hearth data validate`, `hearth train --data`) so
// needs no database unless the file turns out to be sealed.
void set_key_fallback(std::function<std::shared_ptr<void>()> open);
void remember_key(const DataKey& key);
// Error(unavailable) when no source knows the id (the file belongs to another installation, or
// the database that holds its key is not open).
Key find_key(const KeyId& id);

}  // namespace hearth::crypto
