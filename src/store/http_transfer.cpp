#include "store/http_transfer.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>

#include "core/error.h"

namespace hearth::store {
namespace {

constexpr const char* kSchemeRefused = "only http:// and https:// addresses can be downloaded";

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
      throw Error(ErrorKind::internal, "libcurl could not initialise");
  });
}

struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;

// `guard` must outlive the handle's transfers (url_policy.h).
Easy new_handle(const std::string& url, const TransferLimits& limits, TransferGuard& guard) {
  global_init_once();
  Easy curl(curl_easy_init());
  if (!curl) throw Error(ErrorKind::out_of_memory, "libcurl could not make a transfer handle");
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(limits.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_USERAGENT, "hearth/" HEARTH_VERSION);
  guard.policy = limits.address_policy;
  guard_transfer(h, guard);
  return curl;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

bool header_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  return std::equal(name.begin(), name.end(), line.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

size_t probe_header(char* data, size_t size, size_t count, void* user) {
  auto* probe = static_cast<ProbeResult*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect): forget the last one
    probe->accepts_ranges = false;
    probe->etag.clear();
    probe->last_modified.clear();
  } else if (header_is(line, "accept-ranges")) {
    probe->accepts_ranges = trimmed(line.substr(14)) == "bytes";
  } else if (header_is(line, "etag")) {
    probe->etag = trimmed(line.substr(5));
  } else if (header_is(line, "last-modified")) {
    probe->last_modified = trimmed(line.substr(14));
  }
  return size * count;
}

size_t discard_body(char*, size_t size, size_t count, void*) {
  return size * count;
}

struct TransferContext {
  const RangeRequest* request = nullptr;
  CURL* curl = nullptr;
  std::chrono::milliseconds stall_timeout{};
  std::chrono::steady_clock::time_point last_data;
  TransferOutcome outcome;
  bool checked_status = false;
  std::optional<TransferEnd> abort_reason;
};

size_t receive_body(char* data, size_t size, size_t count, void* user) {
  auto* ctx = static_cast<TransferContext*>(user);
  size_t n = size * count;
  if (!ctx->checked_status) {
    ctx->checked_status = true;
    long status = 0;
    curl_easy_getinfo(ctx->curl, CURLINFO_RESPONSE_CODE, &status);
    ctx->outcome.status = status;
    if (ctx->request->ranged && status == 200) {
      ctx->abort_reason = TransferEnd::range_ignored;
      return CURL_WRITEFUNC_ERROR;
    }
  }
  ctx->last_data = std::chrono::steady_clock::now();
  if (n == 0) return 0;
  if (!ctx->request->sink(data, n)) {
    ctx->abort_reason = TransferEnd::sink_refused;
    return CURL_WRITEFUNC_ERROR;
  }
  ctx->outcome.bytes += n;
  return n;
}

int check_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* ctx = static_cast<TransferContext*>(user);
  if (ctx->request->should_stop && ctx->request->should_stop()) {
    ctx->abort_reason = TransferEnd::stopped;
    return 1;
  }
  if (std::chrono::steady_clock::now() - ctx->last_data > ctx->stall_timeout) {
    ctx->abort_reason = TransferEnd::stalled;
    return 1;
  }
  return 0;
}

}  // namespace

ProbeResult probe_url(const std::string& url, const TransferLimits& limits) {
  ProbeResult probe;
  TransferGuard guard;
  Easy curl = new_handle(url, limits, guard);
  CURL* h = curl.get();
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   static_cast<long>((limits.connect_timeout + limits.stall_timeout).count()));
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, probe_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &probe);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_body);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &probe.status);
  if (rc == CURLE_UNSUPPORTED_PROTOCOL && guard.refused.empty())
    guard.refused = kSchemeRefused;  // a redirect to ftp://, file:// ...
  if (rc != CURLE_OK && rc != CURLE_HTTP_RETURNED_ERROR) {
    probe.status = 0;
    probe.refused = guard.refused;
    probe.unreachable = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY ||
                        rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT;
    probe.error = error[0] != '\0' ? error : curl_easy_strerror(rc);
    return probe;
  }
  curl_off_t length = -1;
  curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  probe.size = length;
  return probe;
}

TransferOutcome run_transfer(const RangeRequest& request, const TransferLimits& limits) {
  TransferGuard guard;
  Easy curl = new_handle(request.url, limits, guard);
  CURL* h = curl.get();
  TransferContext ctx;
  ctx.request = &request;
  ctx.curl = h;
  ctx.stall_timeout = limits.stall_timeout;
  ctx.last_data = std::chrono::steady_clock::now();
  char error[CURL_ERROR_SIZE] = {};
  std::string range;
  if (request.ranged) {
    range = std::to_string(request.from) + "-";
    if (request.to) range += std::to_string(*request.to);
    curl_easy_setopt(h, CURLOPT_RANGE, range.c_str());
  }
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, receive_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &ctx);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, check_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &ctx);
  CURLcode rc = curl_easy_perform(h);
  TransferOutcome& out = ctx.outcome;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  if (rc == CURLE_UNSUPPORTED_PROTOCOL && guard.refused.empty()) guard.refused = kSchemeRefused;
  if (!guard.refused.empty()) {
    out.end = TransferEnd::refused;
    out.error = guard.refused;
  } else if (ctx.abort_reason) {
    out.end = *ctx.abort_reason;
  } else if (rc == CURLE_OK) {
    out.end = TransferEnd::complete;
  } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
    out.end = TransferEnd::http_error;
  } else {
    out.end = TransferEnd::network_error;
    out.error = error[0] != '\0' ? error : curl_easy_strerror(rc);
  }
  return out;
}

}  // namespace hearth::store
