// See api_client.h.
#include "cli/api_client.h"

#include <curl/curl.h>

#include <memory>

#include "core/config.h"
#include "core/error.h"
#include "core/json_text.h"

namespace hearth::cli {
namespace {

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string host_port(std::string host) {
  if (auto p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
  while (!host.empty() && host.back() == '/') host.pop_back();
  if (host.rfind("0.0.0.0", 0) == 0) host = "127.0.0.1" + host.substr(7);
  if (host.find(':') == std::string::npos) host += ":11435";
  return host;
}

}  // namespace

ApiClient::ApiClient()
    : host_(host_port(config::get("HEARTH_HOST"))), api_key_(config::get("HEARTH_API_KEY")) {}

boost::json::value ApiClient::get(const std::string& path) const { return call("GET", path); }

boost::json::value ApiClient::call(const std::string& method, const std::string& path,
                                   const boost::json::value* request) const {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(initialised ? curl_easy_init() : nullptr,
                                              curl_easy_cleanup);
  if (!curl) throw Error(ErrorKind::internal, "libcurl could not start");
  const std::string url = "http://" + host_ + path;
  std::string body;
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 2'000L);
  // Starting a job exports the user's data first: more time than a lookup.
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, method == "GET" ? 10'000L : 120'000L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  curl_slist* list = nullptr;
  if (!api_key_.empty()) list = curl_slist_append(list, ("Authorization: Bearer " + api_key_).c_str());
  const std::string text = request ? format_json(*request) : std::string();
  curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  if (request) {
    list = curl_slist_append(list, "Content-Type: application/json");
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, text.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(text.size()));
  } else if (method == "POST") {
    curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, "");
  }
  headers.reset(list);
  if (list) curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list);
  const CURLcode rc = curl_easy_perform(curl.get());
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
      rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_GOT_NOTHING)
    throw Error(ErrorKind::unavailable, "no hearth server is running at " + host_ +
                                            " (start one with `hearth serve`, or point HEARTH_HOST "
                                            "at the one you run)");
  if (rc != CURLE_OK) throw Error(ErrorKind::unavailable, url + ": " + curl_easy_strerror(rc));
  if (status == 401)
    throw Error(ErrorKind::unauthorized,
                url + ": the server needs an API key: set HEARTH_API_KEY to a token from "
                      "`hearth token create --user NAME`");
  std::string error;
  auto answer = parse_json(body, &error);
  if (status < 200 || status > 299) {
    std::string message;
    if (answer && answer->is_object())
      if (const auto* e = answer->get_object().if_contains("error"); e && e->is_string())
        message = std::string(e->get_string());
    if (!message.empty() && (status == 400 || status == 404 || status == 409))
      throw Error(status == 400 ? ErrorKind::invalid_input
                  : status == 404 ? ErrorKind::not_found
                                  : ErrorKind::conflict,
                  message);
    std::string why = "the server answered HTTP " + std::to_string(status);
    if (!message.empty()) why += ": " + message;
    throw Error(ErrorKind::unavailable, url + ": " + why);
  }
  if (!answer) throw Error(ErrorKind::corrupt_file, url + ": the answer is not JSON (" + error + ")");
  return std::move(*answer);
}

std::vector<api::RunningModel> ApiClient::running_models() const {
  return api::read_running_models(get("/api/ps"));
}

}  // namespace hearth::cli
