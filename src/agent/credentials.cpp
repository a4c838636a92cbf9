// See credentials.h.
#include "agent/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json_text.h"
#include "core/paths.h"

namespace hearth::agent {
namespace json = boost::json;

std::filesystem::path credentials_file() { return paths::home() / "agent" / "credentials.json"; }

namespace {

json::object read_all() {
  const auto file = credentials_file();
  std::ifstream in(file, std::ios::binary);
  if (!in) return {{"version", 1}, {"hubs", json::object{}}};
  std::stringstream text;
  text << in.rdbuf();
  std::string error;
  auto v = parse_json(text.str(), &error);
  if (!v || !v->is_object() || !v->as_object().contains("hubs") ||
      !v->as_object().at("hubs").is_object())
    throw Error(ErrorKind::corrupt_file,
                file.string() + " is not an agent credentials file (" +
                    (error.empty() ? std::string("no \"hubs\" object") : error) +
                    "); move it away and register again with --token");
  return v->as_object();
}

}  // namespace

std::optional<Credentials> load_credentials(const std::string& hub) {
  const json::object all = read_all();
  const auto* entry = all.at("hubs").as_object().if_contains(hub);
  if (entry == nullptr || !entry->is_object()) return std::nullopt;
  const json::object& o = entry->as_object();
  auto text = [&](const char* key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  Credentials c{text("agent_id"), text("secret"), text("name")};
  if (c.agent_id.empty() || c.secret.empty()) return std::nullopt;
  return c;
}

void save_credentials(const std::string& hub, const std::optional<Credentials>& credentials) {
  json::object all = read_all();
  json::object& hubs = all["hubs"].as_object();
  if (credentials)
    hubs[hub] = json::object{{"agent_id", credentials->agent_id},
                             {"secret", credentials->secret},
                             {"name", credentials->name}};
  else
    hubs.erase(hub);
  const auto file = credentials_file();
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  ::chmod(file.parent_path().c_str(), 0700);
  const std::string text = format_json(all, 2) + "\n";
  const std::string temp = file.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    throw Error(ErrorKind::io, "cannot write " + temp + ": " + std::strerror(errno));
  ::fchmod(fd, 0600);  // an older file's looser mode does not survive
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(temp.c_str());
      throw Error(ErrorKind::io, "cannot write " + temp + ": " + why);
    }
    done += static_cast<std::size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (!synced || ::rename(temp.c_str(), file.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    ::unlink(temp.c_str());
    throw Error(ErrorKind::io, "cannot store " + file.string() + ": " + why);
  }
}

}  // namespace hearth::agent
