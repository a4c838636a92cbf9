// See auth.h for the rules. The database is asked at most once a second whether named users
// exist, so a busy server does not pay a query per request for a fact that rarely changes. That
// question, and the write of a token's last use, run on a background thread: a request never
// waits long on a database that another process holds locked.
//
// Secrets are never compared with == here: a token is found by the SHA-256 of what the caller
// sent (db::ApiTokens::find_by_plaintext), so the database's comparison, whose time may depend
// on the first differing byte, only ever sees digests of the caller's own guess and teaches
// nothing about a stored token. Where a secret's digest is compared in this process (a desktop
// agent's secret), constant_time_equal does it.
#include "server/auth.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>

#include <cctype>
#include <chrono>
#include <optional>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"

namespace hearth::server {
namespace {

constexpr std::string_view kMissing =
    "this server requires an API key: send Authorization: Bearer <token> (create one with "
    "`hearth token create --user NAME`)";
constexpr std::string_view kMalformed =
    "the Authorization header must be `Bearer <token>` (create a token with "
    "`hearth token create --user NAME`)";
constexpr std::string_view kInvalid = "invalid or revoked API key";

// Recording every request's use would make each request a database write; a token's last use
// to within this much is all anyone needs.
constexpr auto kTouchInterval = std::chrono::seconds(10);

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// The token of "Bearer <token>" (the scheme is case-insensitive, RFC 7235); "" when the header
// has another shape.
std::string_view bearer_token(std::string_view header) {
  std::size_t space = header.find_first_of(" \t");
  if (space == std::string_view::npos || !iequals(header.substr(0, space), "Bearer")) return {};
  std::string_view token = trim(header.substr(space));
  if (token.empty() || token.find_first_of(" \t") != std::string_view::npos) return {};
  return token;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Lengths are not secret (every digest compared has the same length); contents are.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {
// More addresses than this in the map and the expired ones are dropped on the next failure.
constexpr std::size_t kPruneAbove = 4096;

// The key an address is counted under: an IPv4 address as it is, an IPv6 address by its /64
// (one host usually holds a whole /64, and would otherwise get a fresh count per address).
std::string counted_as(const std::string& address) {
  unsigned char bytes[16];
  if (address.find(':') == std::string::npos || inet_pton(AF_INET6, address.c_str(), bytes) != 1)
    return address;
  for (int i = 8; i < 16; ++i) bytes[i] = 0;
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(AF_INET6, bytes, text, sizeof text) == nullptr) return address;
  return std::string(text) + "/64";
}

}  // namespace

int FailureLimiter::blocked_for(const std::string& address) {
  if (limit_ <= 0 || address.empty()) return 0;
  const std::string key = counted_as(address);
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end() || it->second.failures < limit_) return 0;
  const auto left = it->second.since + window_ - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) {
    entries_.erase(it);
    return 0;
  }
  // Rounded up: a client that waits exactly Retry-After seconds finds the window over.
  return static_cast<int>(std::chrono::ceil<std::chrono::seconds>(left).count());
}

void FailureLimiter::fail(const std::string& address) {
  if (limit_ <= 0 || address.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  const std::string key = counted_as(address);
  std::lock_guard lock(mutex_);
  if (entries_.size() > kPruneAbove)
    std::erase_if(entries_, [&](const auto& e) { return now - e.second.since >= window_; });
  Entry& e = entries_[key];
  if (e.failures == 0 || now - e.since >= window_) e = {0, now};
  if (e.failures < limit_) ++e.failures;
}

AuthMode auth_mode_from(std::string_view text) {
  if (text == "auto") return AuthMode::automatic;
  if (text == "required") return AuthMode::required;
  throw Error(ErrorKind::invalid_input,
              "authentication mode '" + std::string(text) + "' is not one of: auto, required");
}

Authenticator::Authenticator(db::Database db, AuthMode mode, bool listens_beyond_loopback)
    : db_(std::move(db)),
      mode_(mode),
      beyond_loopback_(listens_beyond_loopback),
      local_id_(library::local_user_id(db_)),
      failures_(static_cast<int>(config::get_int("HEARTH_AUTH_FAILURES", 0, 1'000'000)),
                std::chrono::seconds(config::get_int("HEARTH_AUTH_WINDOW", 1, 86'400))) {
  // Asked once before serving, so the first requests never go on a guess.
  if (mode_ == AuthMode::automatic && !beyond_loopback_) {
    users_exist_ = db::Users(db_).count_named() > 0;
    checked_at_ = std::chrono::steady_clock::now();
  }
}

void Authenticator::refresh() {
  std::optional<bool> exist;
  try {
    exist = db::Users(db_).count_named() > 0;
  } catch (const std::exception& e) {
    SPDLOG_WARN("could not check whether the server has users: {}", e.what());
  }
  std::lock_guard lock(mutex_);
  if (exist) users_exist_ = *exist;
  // A failed check is not repeated for a second either: the last answer stands meanwhile.
  checked_at_ = std::chrono::steady_clock::now();
  refreshing_ = false;
  refreshed_.notify_all();
}

bool Authenticator::required() {
  if (mode_ == AuthMode::required || beyond_loopback_) return true;
  std::unique_lock lock(mutex_);
  const auto stale = [&] {
    return checked_at_ == std::chrono::steady_clock::time_point{} ||
           std::chrono::steady_clock::now() - checked_at_ >= std::chrono::seconds(1);
  };
  if (!stale()) return users_exist_;
  // One re-check at a time; requests that find the answer stale wait for it, but only until
  // kFreshWait after the check began (a check stuck behind a lock delays no one for longer).
  if (!refreshing_) {
    refreshing_ = true;
    refresh_started_ = std::chrono::steady_clock::now();
    background_.submit([this] { refresh(); });
  }
  refreshed_.wait_until(lock, refresh_started_ + kFreshWait, [&] { return !refreshing_; });
  return users_exist_;
}

Caller Authenticator::authenticate(std::string_view authorization_header,
                                   std::string_view client_address) {
  std::string_view header = trim(authorization_header);
  const std::string client(client_address);
  // A wrong credential: 429 for an address that failed too often, else counted and 401.
  const auto refuse = [&](std::string_view message) {
    if (const int wait = failures_.blocked_for(client); wait > 0)
      throw TooManyRequests("too many failed authentications from " + client +
                                "; try again in " + std::to_string(wait) + " s",
                            wait);
    failures_.fail(client);
    throw Error(ErrorKind::unauthorized, std::string(message));
  };
  // OpenAI clients send some key even to servers that need none ("sk-...", "ollama"): when no
  // token is required, anything but one of ours runs as the local user.
  const bool needed = required();
  if (header.empty()) {
    if (needed) throw Error(ErrorKind::unauthorized, std::string(kMissing));
    return {local_id_, std::string(library::kLocalUser)};
  }
  std::string_view token = bearer_token(header);
  if (token.empty()) {
    if (needed) refuse(kMalformed);
    return {local_id_, std::string(library::kLocalUser)};
  }

  db::ApiTokens tokens(db_);
  auto found = tokens.find_by_plaintext(std::string(token));
  std::optional<db::User> user;
  if (found) user = db::Users(db_).find(found->user_id);
  if (!found || !user) {
    if (needed) refuse(kInvalid);
    return {local_id_, std::string(library::kLocalUser)};
  }
  if (!found->last_used_at || db::now() - *found->last_used_at >= kTouchInterval) {
    background_.submit([db = db_, id = found->id] {
      try {
        db::ApiTokens(db).touch(id);
      } catch (const Error&) {
        // Revoked and removed between the lookup and now, or the database stayed busy: the
        // request was authenticated when it arrived, and the last-use time is only informational.
      }
    });
  }
  return {user->id, user->username};
}

}  // namespace hearth::server
