// A small client of a running hearth server, for the commands that ask it rather than the files
// (`hearth ps`). It speaks the API through the same wire types the server writes (api/), so a
// change of shape on one side fails the other's tests.
//
// The server is HEARTH_HOST (host[:port], default 127.0.0.1:11435; 0.0.0.0 means this machine);
// HEARTH_API_KEY, when set, is sent as the bearer token.
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

#include "api/ollama.h"

namespace hearth::cli {

class ApiClient {
 public:
  ApiClient();  // from HEARTH_HOST and HEARTH_API_KEY
  const std::string& host() const { return host_; }

  // GET path's JSON. Error(unavailable) "no hearth server is running at HOST ..." when nothing
  // answers; Error(unauthorized) naming HEARTH_API_KEY on 401; Error(unavailable) on any other
  // status, with the server's own "error" text when it gave one; Error(corrupt_file) when the
  // answer is not JSON.
  boost::json::value get(const std::string& path) const;
  // Any method, with a JSON body when `body` is given. A 2xx answer's JSON; other answers as
  // get(), except that 400, 404 and 409 keep their meaning (invalid_input, not_found, conflict)
  // with the server's message, for the commands that act on what the server has.
  boost::json::value call(const std::string& method, const std::string& path,
                          const boost::json::value* body = nullptr) const;

  // GET /api/ps.
  std::vector<api::RunningModel> running_models() const;

 private:
  std::string host_;
  std::string api_key_;
};

}  // namespace hearth::cli
