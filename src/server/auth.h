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
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/thread_pool.h"
#include "db/db.h"
#include "library/local_user.h"
#include "server/server.h"

namespace hearth::server {

enum class AuthMode { automatic, required };
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
  Caller authenticate(std::string_view authorization_header);

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
  // The users re-check and last-use writes, one after another; declared last so that it is
  // joined before the rest goes.
  ThreadPool background_{1};
};

}  // namespace hearth::server
