// See remote_http.h.
#include "loop/remote_http.h"

#include <curl/curl.h>

#include <memory>
#include <string>

#include "core/config.h"
#include "core/error.h"
#include "core/json_text.h"
#include "crypto/sealed_file.h"
#include "store/url_policy.h"

namespace hearth::loop {
namespace {

namespace json = boost::json;

struct Call {
  std::string method;
  std::string path;
  const std::string* json_body = nullptr;
  const std::filesystem::path* file = nullptr;
  std::string purpose{};
  long timeout_ms = 60'000;  // 0: none (a chat answer takes as long as it takes)
  std::function<void(long status, std::string_view)> sink{};
  std::function<bool()> stop{};
  void* curl = nullptr;
};

size_t to_sink(char* data, size_t size, size_t n, void* to) {
  auto* call = static_cast<Call*>(to);
  long status = 0;
  curl_easy_getinfo(static_cast<CURL*>(call->curl), CURLINFO_RESPONSE_CODE, &status);
  call->sink(status, std::string_view(data, size * n));
  return size * n;
}

int progress(void* call, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto& stop = static_cast<Call*>(call)->stop;
  return stop && stop() ? 1 : 0;
}

// Performs the call; returns the HTTP status (throws when the remote cannot be reached).
long perform(const RemoteAccess& access, Call& call) {
  static const bool initialised = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  std::unique_ptr<CURL, void (*)(CURL*)> curl(initialised ? curl_easy_init() : nullptr,
                                              curl_easy_cleanup);
  if (!curl) throw Error(ErrorKind::internal, "libcurl could not start");
  CURL* c = curl.get();
  call.curl = c;
  const std::string url = access.base_url + call.path;
  store::TransferGuard guard;
  if (!access.owner_named && config::get("HEARTH_ALLOW_PRIVATE_URLS") != "1")
    guard.policy = store::AddressPolicy::public_only();
  store::guard_transfer(c, guard);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, access.connect_timeout_ms);
  if (access.idle_timeout_s > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, access.idle_timeout_s);
  }
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, call.timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_sink);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &call);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &call);
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  curl_slist* list =
      access.api_key.empty()
          ? curl_slist_append(nullptr, "Accept: */*")
          : curl_slist_append(nullptr, ("Authorization: Bearer " + access.api_key).c_str());
  std::unique_ptr<curl_mime, void (*)(curl_mime*)> mime(nullptr, curl_mime_free);
  if (call.json_body) {
    list = curl_slist_append(list, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, call.json_body->c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(call.json_body->size()));
  } else if (call.file) {
    mime.reset(curl_mime_init(c));
    curl_mimepart* part = curl_mime_addpart(mime.get());
    curl_mime_name(part, "purpose");
    curl_mime_data(part, call.purpose.c_str(), CURL_ZERO_TERMINATED);
    part = curl_mime_addpart(mime.get());
    curl_mime_name(part, "file");
    // The dataset is sealed on disk: opened into memory for the trainer the user chose.
    const std::string upload_body = crypto::read_file(*call.file);  // curl copies it
    curl_mime_filename(part, call.file->filename().c_str());
    if (curl_mime_data(part, upload_body.data(), upload_body.size()) != CURLE_OK)
      throw Error(ErrorKind::io, "cannot read " + call.file->string() + " to upload it");
    curl_mime_type(part, "application/jsonl");
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime.get());
  } else if (call.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
  }
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, call.method.c_str());
  headers.reset(list);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  const CURLcode rc = curl_easy_perform(c);
  const std::string what = access.base_url + ": " + call.method + " " + call.path;
  if (!guard.refused.empty())
    throw Error(ErrorKind::unavailable, remote_refused_message(url, guard.refused));
  if (rc == CURLE_ABORTED_BY_CALLBACK) throw Error(ErrorKind::unavailable, what + ": stopped");
  if (rc != CURLE_OK)
    throw Error(ErrorKind::unavailable,
                what + ": the remote cannot be reached: " + curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

// The answer as JSON; an HTTP error becomes Error(unavailable) with the remote's own message.
json::value answer(const RemoteAccess& access, Call& call) {
  std::string body;
  call.sink = [&body](long, std::string_view piece) {
    if (body.size() < (64u << 20)) body.append(piece);
  };
  const long status = perform(access, call);
  const std::string what = access.base_url + ": " + call.method + " " + call.path;
  std::string error;
  auto value = parse_json(body, &error);
  if (status < 200 || status > 299) {
    std::string message;
    if (value && value->is_object())
      if (const auto* e = value->as_object().if_contains("error")) {
        if (e->is_object() && e->as_object().contains("message") &&
            e->as_object().at("message").is_string())
          message = std::string(e->as_object().at("message").as_string());
        else if (e->is_string())
          message = std::string(e->as_string());
      }
    if (message.empty()) message = body.substr(0, 200);
    throw Error(ErrorKind::unavailable, what + " answered " + std::to_string(status) +
                                            (message.empty() ? "" : ": " + message));
  }
  if (!value) throw Error(ErrorKind::unavailable, what + " answered with no JSON: " + error);
  return *value;
}

}  // namespace

json::value RemoteApi::get(const std::string& path) const {
  Call call{.method = "GET", .path = path, .stop = stop_};
  return answer(access_, call);
}

json::value RemoteApi::post(const std::string& path, const json::value& body) const {
  const std::string text = format_json(body);
  Call call{.method = "POST", .path = path, .json_body = &text, .stop = stop_};
  return answer(access_, call);
}

json::value RemoteApi::upload(const std::string& path, const std::filesystem::path& file,
                              const std::string& purpose) const {
  Call call{.method = "POST",
            .path = path,
            .file = &file,
            .purpose = purpose,
            .timeout_ms = 600'000,
            .stop = stop_};
  return answer(access_, call);
}

long RemoteApi::post_raw(const std::string& path, const std::string& json_text,
                         const std::function<void(long, std::string_view)>& sink,
                         const std::function<bool()>& stop) const {
  Call call{.method = "POST",
            .path = path,
            .json_body = &json_text,
            .timeout_ms = 0,
            .sink = sink,
            .stop = stop ? stop : stop_};
  return perform(access_, call);
}

}  // namespace hearth::loop
