// Users, API tokens and who may call the server (issue: users and tokens).
//
// Rules:
//   - Authentication (Authorization: Bearer <token>) is required when the server listens beyond
//     loopback, when any user other than the implicit "local" user exists, or always with
//     `hearth serve --auth required`. Otherwise every request runs as the implicit local user
//     ("local", created on first use; the machine's owner, who also owns what the CLI pulls).
//   - Tokens look like "hearth_" + 43 base64url characters (32 random bytes); only their SHA-256
//     is stored, with a short prefix for listing. A revoked or unknown token is refused.
//   - "local" is a reserved name: `hearth user add local` is refused.
//   - Wrong credentials are rate limited per client address (FailureLimiter below): after
//     HEARTH_AUTH_FAILURES refusals within HEARTH_AUTH_WINDOW seconds from one address, a wrong
//     credential from it is answered 429 with Retry-After until the window ends.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/thread_pool.h"
#include "db/db.h"
#include "library/local_user.h"
#include "server/server.h"

namespace hearth::server {

enum class AuthMode { automatic, required };

// Whether two secrets (or digests of secrets) are equal, in time that depends only on their
// lengths, never on where they first differ (OpenSSL's CRYPTO_memcmp). Every comparison of a
// secret a caller sends against a stored one goes through it, so that timing the answers cannot
// reveal a stored value byte by byte.
bool constant_time_equal(std::string_view a, std::string_view b);

// Counts refused credentials per client address in a fixed window: once an address has `limit`
// failures within `window` of its first one, it is blocked until that window ends. A limit of 0
// turns counting off. IPv6 addresses count by their /64 (a host that holds a whole prefix gets
// one count, not one per address). Addresses are kept only while their window lasts (and the map is pruned
// when it grows), so a flood of addresses cannot hold memory for long. Thread-safe.
class FailureLimiter {
 public:
  FailureLimiter(int limit, std::chrono::seconds window) : limit_(limit), window_(window) {}
  // Seconds until `address` may try again (at least 1), or 0 when it is not blocked.
  int blocked_for(const std::string& address);
  // One more refused credential from `address`.
  void fail(const std::string& address);

 private:
  struct Entry {
    int failures = 0;
    std::chrono::steady_clock::time_point since{};
  };
  int limit_;
  std::chrono::seconds window_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};
// "auto" / "required"; Error(invalid_input) otherwise.
AuthMode auth_mode_from(std::string_view text);

class Authenticator {
 public:
  // listens_beyond_loopback: the server's address is not 127.0.0.0/8 or ::1.
  Authenticator(db::Database db, AuthMode mode, bool listens_beyond_loopback);

  // Whether a token is needed right now (re-checked at most once a second: a user added while
  // the server runs turns authentication on without a restart). Never waits long for the
  // database: when the re-check takes more than kFreshWait (a write lock held elsewhere), the
  // last answer stands until the check comes back.
  bool required();
  // The caller for a request's Authorization header value ("" when absent). Error(unauthorized)
  // saying what is missing or wrong when required() and the token is absent, malformed, unknown
  // or revoked. A valid token is accepted (and its last use recorded, in the background) even
  // when not required.
  //
  // `client` is the caller's address (Request::client_address; "" when unknown, which is not
  // limited). A wrong credential from an address that is blocked throws TooManyRequests (429)
  // instead of Error(unauthorized). A valid token still works from a blocked address: tokens
  // are 256 random bits, so the limit is not what keeps them from being guessed; it keeps a
  // failing client from costing a database lookup per try while it is told to wait, and a user
  // who shares a busy address (a NAT, a proxy) with a failing client is not locked out. Every
  // other address is counted apart and never slowed by this one.
  Caller authenticate(std::string_view authorization_header, std::string_view client = {});
  // The limiter, for checks that refuse other credentials (a desktop agent's secret).
  FailureLimiter& failures() { return failures_; }

  static constexpr std::chrono::milliseconds kFreshWait{250};

 private:
  void refresh();  // on background_: asks whether named users exist

  db::Database db_;
  AuthMode mode_;
  bool beyond_loopback_;
  std::mutex mutex_;
  std::condition_variable refreshed_;
  std::chrono::steady_clock::time_point checked_at_{};
  std::chrono::steady_clock::time_point refresh_started_{};
  bool refreshing_ = false;
  bool users_exist_ = false;
  std::int64_t local_id_ = 0;
  FailureLimiter failures_;
  // The users re-check and last-use writes, one after another; declared last so that it is
  // joined before the rest goes.
  ThreadPool background_{1};
};

}  // namespace hearth::server
