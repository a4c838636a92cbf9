// The agent's credentials for each hub it registered with: HEARTH_HOME/agent/credentials.json,
// {"version": 1, "hubs": {"<hub URL>": {"agent_id", "secret", "name"}}}, written whole to a
// temporary file with mode 0600 and renamed into place (the folder is 0700), so a crash never
// leaves a half-written file and no other local user can read the secret.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace hearth::agent {

struct Credentials {
  std::string agent_id;
  std::string secret;
  std::string name;
};

std::filesystem::path credentials_file();  // HEARTH_HOME/agent/credentials.json

// The credentials kept for `hub`; nullopt when none. Error(corrupt_file) for an unreadable file.
std::optional<Credentials> load_credentials(const std::string& hub);
// Stores (replacing) or, with nullopt, forgets the credentials for `hub`. Error(io) on failure.
void save_credentials(const std::string& hub, const std::optional<Credentials>& credentials);

}  // namespace hearth::agent
