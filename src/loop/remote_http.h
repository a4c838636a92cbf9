// Calls to a remote OpenAI-compatible API (the remote trainer, and the chat route of a version
// it trained), with the user's key. libcurl, blocking: run it off the server's I/O threads.
//
// Every transfer speaks only http(s) and, unless HEARTH_ALLOW_PRIVATE_URLS=1, may reach only
// public addresses, checked on the address connected to (store/url_policy.h): the server calls
// it for a user, and must not reach what that user could not.
//
// Failures become Error(unavailable) with a message that names the remote and what went wrong
// ("http://h/v1: POST /fine_tuning/jobs answered 400: <the remote's error message>", "... cannot
// be reached: Couldn't connect to server") and never the key.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <boost/json/value.hpp>

#include "loop/remote_settings.h"

namespace hearth::loop {

class RemoteApi {
 public:
  // `stop`, when given, is polled during every call: true ends it (Error "stopped").
  explicit RemoteApi(RemoteAccess access, std::function<bool()> stop = {})
      : access_(std::move(access)), stop_(std::move(stop)) {}

  boost::json::value get(const std::string& path) const;
  boost::json::value post(const std::string& path, const boost::json::value& body) const;
  // multipart/form-data: "purpose" and "file" (the file's name is its last path part).
  boost::json::value upload(const std::string& path, const std::filesystem::path& file,
                            const std::string& purpose) const;

  // POSTs JSON text and hands the answer's bytes to `sink` as they come, with the answer's HTTP
  // status (a stream passes through); returns the status. `stop` is polled while it runs: true
  // ends the transfer (Error). Only failures to reach the remote throw; an HTTP error status is
  // returned with its body.
  long post_raw(const std::string& path, const std::string& json_text,
                const std::function<void(long status, std::string_view bytes)>& sink,
                const std::function<bool()>& stop = {}) const;

  const std::string& base_url() const { return access_.base_url; }

 private:
  RemoteAccess access_;
  std::function<bool()> stop_;
};

}  // namespace hearth::loop
