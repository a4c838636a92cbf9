// PostgreSQL side of db/snapshot.h: pg_dump and psql as child processes, a few catalog queries
// through SOCI.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

#include <soci/postgresql/soci-postgresql.h>

#include "db/internal.h"
#include "db/snapshot.h"

extern char** environ;

namespace hearth::db::snapshot {
namespace {

std::string masked(const std::string& url) {
  const std::size_t scheme = url.find("://");
  const std::size_t at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return url;
  const std::size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "***" + url.substr(at);
}

// The URL without its password, and the password (percent-decoded) on its own.
std::pair<std::string, std::string> split_password(const std::string& url) {
  const std::size_t scheme = url.find("://");
  const std::size_t at = url.find('@');
  const std::size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos || (slash != std::string::npos && at > slash))
    return {url, ""};
  const std::size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return {url, ""};
  std::string encoded = url.substr(colon + 1, at - colon - 1), password;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%' && i + 2 < encoded.size()) {
      password += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      password += encoded[i];
    }
  }
  return {url.substr(0, colon) + url.substr(at), password};
}

std::filesystem::path find_tool(const std::string& name) {
  std::error_code ec;
  std::vector<std::filesystem::path> places;
  if (const char* bin = std::getenv("PG_BIN"); bin != nullptr && *bin != '\0') places.emplace_back(bin);
  for (int v = 17; v >= 13; --v)
    places.emplace_back("/usr/lib/postgresql/" + std::to_string(v) + "/bin");
  if (const char* path = std::getenv("PATH")) {
    std::stringstream parts(path);
    for (std::string dir; std::getline(parts, dir, ':');)
      if (!dir.empty()) places.emplace_back(dir);
  }
  for (const auto& dir : places)
    if (::access((dir / name).c_str(), X_OK) == 0) return dir / name;
  throw Error(ErrorKind::not_found,
              name + " not found (looked in PG_BIN, /usr/lib/postgresql/*/bin and PATH): install "
                     "the PostgreSQL client tools or set PG_BIN to their folder");
}

// Runs the tool with the database's connection; stdout goes to `out` (or /dev/null), stdin comes
// from /dev/null. Error(io) with the tool's own words when it fails.
void run_tool(const std::string& tool, std::vector<std::string> args, const std::string& url,
              const std::filesystem::path& out) {
  const auto [plain_url, password] = split_password(url);
  const std::filesystem::path program = find_tool(tool);
  // libpq's keyword form, the same one hearth itself connects with (postgres_url.cpp).
  args.insert(args.begin(), "--dbname=" + detail::postgres_connect_string(plain_url, masked(url)));
  args.insert(args.begin(), program.string());

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, "PGPASSWORD=", 11) != 0) env_strings.emplace_back(*e);
  if (!password.empty()) env_strings.push_back("PGPASSWORD=" + password);

  char err_template[] = "/tmp/hearth-pgtool-XXXXXX";
  const int err_fd = ::mkstemp(err_template);
  if (err_fd < 0) throw Error(ErrorKind::io, "cannot create a temporary file for " + tool);
  ::unlink(err_template);
  const int out_fd = ::open(out.empty() ? "/dev/null" : out.c_str(),
                            out.empty() ? O_WRONLY : (O_WRONLY | O_CREAT | O_EXCL), 0600);
  if (out_fd < 0) {
    ::close(err_fd);
    throw Error(ErrorKind::io, out.string() + ": cannot create: " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_fd);
  int status = 0;
  if (spawned == 0)
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  std::string message;
  char buffer[4096];
  ::lseek(err_fd, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(err_fd, buffer, sizeof buffer)) > 0 && message.size() < 4000;)
    message.append(buffer, static_cast<std::size_t>(n));
  ::close(err_fd);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  if (spawned != 0)
    throw Error(ErrorKind::io, "cannot run " + program.string() + ": " + std::strerror(spawned));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(ErrorKind::io, tool + " failed for " + masked(url) + ": " +
                                   (message.empty() ? "exit status " + std::to_string(WEXITSTATUS(status)) : message));
}

template <class F>
auto with_connection(const std::string& url, const std::string& doing, F&& fn) {
  const std::string where = masked(url);
  try {
    soci::session sql(*soci::factory_postgresql(), detail::postgres_connect_string(url, where));
    return fn(sql);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(ErrorKind::unavailable, "database " + where + ": " + doing + ": " + e.what());
  }
}

}  // namespace

void postgres_dump(const std::string& url, const std::filesystem::path& dest) {
  // Plain SQL: readable, and psql loads it in one transaction. No owners or grants: the target
  // database may belong to another role.
  run_tool("pg_dump", {"--format=plain", "--no-owner", "--no-privileges", "--quote-all-identifiers"},
           url, dest);
}

void postgres_load(const std::string& url, const std::filesystem::path& dump) {
  run_tool("psql", {"--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction",
                    "--file=" + dump.string()},
           url, {});
}

long long postgres_table_count(const std::string& url) {
  return with_connection(url, "listing its tables", [](soci::session& sql) {
    long long n = 0;
    sql << "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname NOT IN "
           "('pg_catalog', 'information_schema')",
        soci::into(n);
    return n;
  });
}

int postgres_schema_version(const std::string& url) {
  return with_connection(url, "reading its schema version", [](soci::session& sql) {
    int has = 0;
    sql << "SELECT count(*) FROM pg_catalog.pg_tables WHERE tablename = 'schema_migrations' "
           "AND schemaname = current_schema()",
        soci::into(has);
    if (has == 0) return 0;
    int version = 0;
    sql << "SELECT coalesce(max(version), 0) FROM schema_migrations", soci::into(version);
    return version;
  });
}

}  // namespace hearth::db::snapshot
