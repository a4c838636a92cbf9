// RemoteEngines rows (schema 10): OpenAI-compatible engines (vLLM, llama-server, Ollama's /v1,
// another hearth) that the machine's owner lends to the hub's users, by model name
// (server/remote_engines.h routes chats to them). `hearth remote` writes them.
// Representation and errors as db.h says.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.h"

namespace hearth::db {

struct RemoteEngineRow {
  std::int64_t id = 0;
  std::string name{};        // unique, the owner's name for it ("vllm")
  std::string base_url{};    // "http://10.0.0.5:8000/v1", no trailing '/'
  std::string sealed_key{};  // loop::seal_secret's text; '' when the engine needs no key
  std::vector<std::string> models{};  // the names it serves; empty: ask its GET /models
  std::optional<std::int64_t> user_id{};  // nullopt: shared with every user
  Timestamp created_at{};
};

struct NewRemoteEngine {
  std::string name{};
  std::string base_url{};
  std::string sealed_key{};  // already sealed by the caller (db does not know the key file)
  std::vector<std::string> models{};
  std::optional<std::int64_t> user_id{};
};

class RemoteEngineRows {
 public:
  explicit RemoteEngineRows(const Database& db) : db_(db.impl()) {}
  // Error(conflict) when the name is taken; Error(not_found) when user_id names no user;
  // Error(invalid_input) for an empty name or base URL.
  RemoteEngineRow add(const NewRemoteEngine& engine);
  std::vector<RemoteEngineRow> list();  // by name
  std::optional<RemoteEngineRow> find(const std::string& name);
  bool remove(const std::string& name);  // false when there was none

 private:
  std::shared_ptr<Database::Impl> db_;
};

}  // namespace hearth::db
