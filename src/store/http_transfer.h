// libcurl transfers for the downloader: a HEAD probe and one (ranged) GET into a sink.
// Internal to the store module; nothing here retries — download_job.cpp decides that.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "store/url_policy.h"

namespace hearth::store {

struct TransferLimits {
  std::chrono::milliseconds connect_timeout{15'000};
  std::chrono::milliseconds stall_timeout{30'000};
  std::shared_ptr<const AddressPolicy> address_policy;  // null: any address (url_policy.h)
};

struct ProbeResult {
  long status = 0;      // final HTTP status; 0 when no answer came (network error)
  std::string error;    // curl's message when status is 0
  std::string refused;  // set (status 0) when the address policy refused a connection: why
  bool unreachable = false;  // status 0 because the host could not be resolved, reached or timed out
  int64_t size = -1;    // Content-Length; -1 when not given
  bool accepts_ranges = false;
  std::string etag;
  std::string last_modified;
};

ProbeResult probe_url(const std::string& url, const TransferLimits& limits);

struct RangeRequest {
  std::string url;
  // Bytes [from, to] inclusive; nullopt `to` means to the end. Without `ranged`, no Range header
  // is sent and the whole body is expected.
  bool ranged = false;
  uint64_t from = 0;
  std::optional<uint64_t> to;
  // Receives body bytes in order; returns false to stop (the caller records why).
  std::function<bool(const char* data, size_t size)> sink;
  // Polled about once a second or more often; true stops the transfer.
  std::function<bool()> should_stop;
};

enum class TransferEnd {
  complete,       // the server ended the body normally
  range_ignored,  // a ranged request was answered with 200 (whole file)
  http_error,     // status >= 400, in `status`
  stalled,        // no body bytes for stall_timeout
  stopped,        // should_stop said so
  sink_refused,   // the sink returned false
  network_error,  // connection refused, reset, closed early ... (message in `error`)
  refused,        // the address policy refused the address (why in `error`); never retried
};

struct TransferOutcome {
  TransferEnd end = TransferEnd::complete;
  long status = 0;
  std::string error;
  uint64_t bytes = 0;  // body bytes given to the sink
};

TransferOutcome run_transfer(const RangeRequest& request, const TransferLimits& limits);

}  // namespace hearth::store
