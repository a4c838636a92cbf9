// ApiTokens: bearer tokens for the server. The plaintext leaves this file once, in create()'s
// result; the table keeps its SHA-256 and a short prefix so people can tell tokens apart.
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <iterator>

#include "core/base64.h"
#include "core/sha256.h"
#include "db/internal.h"

namespace hearth::db {
namespace {

constexpr std::string_view kTokenPrefix = "hearth_";
constexpr std::size_t kRandomBytes = 32;

struct TokenRow {
  long long id = 0, user_id = 0;
  std::string name, prefix, created_at, last_used_at, revoked_at;
  soci::indicator used_ind = soci::i_ok, revoked_ind = soci::i_ok;

  void bind(soci::statement& st) {
    st.exchange(soci::into(id));
    st.exchange(soci::into(user_id));
    st.exchange(soci::into(name));
    st.exchange(soci::into(prefix));
    st.exchange(soci::into(created_at));
    st.exchange(soci::into(last_used_at, used_ind));
    st.exchange(soci::into(revoked_at, revoked_ind));
  }
  ApiToken get() const {
    ApiToken t;
    t.id = id;
    t.user_id = user_id;
    t.name = name;
    t.prefix = prefix;
    t.created_at = detail::read_time(created_at, "api_tokens.created_at");
    t.last_used_at = detail::read_time(last_used_at, used_ind, "api_tokens.last_used_at");
    t.revoked_at = detail::read_time(revoked_at, revoked_ind, "api_tokens.revoked_at");
    return t;
  }
};

std::string select_list(const Database::Impl& db) {
  using detail::time_column;
  return "SELECT id, user_id, name, prefix, " + time_column(db, "created_at") + ", " +
         time_column(db, "last_used_at") + ", " + time_column(db, "revoked_at") +
         " FROM api_tokens ";
}

// 32 bytes from OpenSSL's CSPRNG as unpadded base64url (43 characters), so the token survives
// URLs, shells and HTTP headers without quoting.
std::string random_token() {
  std::array<unsigned char, kRandomBytes> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw Error(ErrorKind::internal, "cannot make an API token: the system's random source failed");
  return std::string(kTokenPrefix) +
         base64url_encode({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

template <class T>
std::vector<ApiToken> query(Database::Impl& db, const std::string& where,
                            std::optional<std::int64_t> user_id, const T& value) {
  return detail::with_session(db, "finding API tokens", [&](soci::session& sql) {
    if (!user_id)
      return detail::query_rows<TokenRow>(sql, select_list(db) + where + " ORDER BY id",
                                          soci::use(value));
    long long user = *user_id;
    return detail::query_rows<TokenRow>(sql,
                                        select_list(db) + where + " AND user_id = :u ORDER BY id",
                                        soci::use(value), soci::use(user));
  });
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The tokens that `id_or_prefix` names (see ApiTokens::revoke).
std::vector<ApiToken> matching(Database::Impl& db, const std::string& id_or_prefix,
                               std::optional<std::int64_t> user_id) {
  if (all_digits(id_or_prefix)) {
    long long id = std::stoll(id_or_prefix);
    return query(db, "WHERE id = :v", user_id, id);
  }
  if (!id_or_prefix.starts_with(kTokenPrefix) || id_or_prefix.size() < ApiTokens::kPrefixLength)
    throw Error(ErrorKind::invalid_input,
                "'" + id_or_prefix +
                    "' is neither a token id nor a token prefix: use the ID or "
                    "PREFIX column of `hearth token list`");
  if (id_or_prefix.size() == ApiTokens::kPrefixLength)
    return query(db, "WHERE prefix = :v", user_id, id_or_prefix);
  return query(db, "WHERE token_hash = :v", user_id, sha256_hex(id_or_prefix));
}

}  // namespace

CreatedApiToken ApiTokens::create(std::int64_t user_id, const std::string& name) {
  std::string plaintext = random_token();
  std::string hash = sha256_hex(plaintext);
  std::string prefix = plaintext.substr(0, kPrefixLength);
  std::string stamp = format_time(now());
  long long user = user_id;
  long long id = detail::with_session(
      *db_, "creating an API token for user " + std::to_string(user_id), [&](soci::session& sql) {
        long long new_id = 0;
        sql << "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
               "VALUES (:u, :n, :h, :p, :c) RETURNING id",
            soci::use(user), soci::use(name), soci::use(hash), soci::use(prefix), soci::use(stamp),
            soci::into(new_id);
        return new_id;
      });
  ApiToken t;
  t.id = id;
  t.user_id = user_id;
  t.name = name;
  t.prefix = prefix;
  t.created_at = parse_time(stamp);
  return {t, plaintext};
}

std::optional<ApiToken> ApiTokens::find(std::int64_t id) {
  long long key = id;
  auto rows = query(*db_, "WHERE id = :v", std::nullopt, key);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::optional<ApiToken> ApiTokens::find_by_plaintext(const std::string& token) {
  // Looking up by hash means the database never compares secrets: an attacker timing the
  // query learns about SHA-256 outputs, not about any real token.
  if (!token.starts_with(kTokenPrefix)) return std::nullopt;
  auto rows =
      query(*db_, "WHERE revoked_at IS NULL AND token_hash = :v", std::nullopt, sha256_hex(token));
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<ApiToken> ApiTokens::list(std::optional<std::int64_t> user_id) {
  return detail::with_session(*db_, "listing API tokens", [&](soci::session& sql) {
    if (!user_id) return detail::query_rows<TokenRow>(sql, select_list(*db_) + "ORDER BY id");
    long long user = *user_id;
    return detail::query_rows<TokenRow>(sql, select_list(*db_) + "WHERE user_id = :u ORDER BY id",
                                        soci::use(user));
  });
}

ApiTokens::Revoked ApiTokens::revoke(const std::string& id_or_prefix,
                                     std::optional<std::int64_t> user_id) {
  auto rows = matching(*db_, id_or_prefix, user_id);
  if (rows.empty())
    throw Error(ErrorKind::not_found, "no API token '" + id_or_prefix +
                                          "': see `hearth token list` for ids and prefixes");
  // A shared prefix is ambiguous only among live tokens: revoked ones need nothing more.
  std::vector<ApiToken> live;
  std::copy_if(rows.begin(), rows.end(), std::back_inserter(live),
               [](const ApiToken& t) { return !t.revoked(); });
  if (live.size() > 1)
    throw Error(ErrorKind::conflict, "prefix '" + id_or_prefix + "' matches " +
                                         std::to_string(live.size()) +
                                         " live tokens: revoke by id instead");
  ApiToken t = live.empty() ? rows.front() : live.front();
  if (t.revoked()) return {t, false};
  long long key = t.id;
  std::string stamp = format_time(now());
  long long changed = detail::with_session(
      *db_, "revoking API token " + std::to_string(t.id), [&](soci::session& sql) {
        // revoked_at IS NULL keeps the first revocation's time when two race.
        return detail::execute(
            sql, "UPDATE api_tokens SET revoked_at = :t WHERE id = :id AND revoked_at IS NULL",
            soci::use(stamp), soci::use(key));
      });
  return {*find(t.id), changed > 0};
}

void ApiTokens::touch(std::int64_t id) {
  long long key = id;
  std::string stamp = format_time(now());
  long long changed = detail::with_session(
      *db_, "recording the use of API token " + std::to_string(id), [&](soci::session& sql) {
        return detail::execute(sql, "UPDATE api_tokens SET last_used_at = :t WHERE id = :id",
                               soci::use(stamp), soci::use(key));
      });
  if (changed == 0)
    throw Error(ErrorKind::not_found, "API token " + std::to_string(id) + " does not exist");
}

}  // namespace hearth::db
