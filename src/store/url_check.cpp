// check_url (download.h): the downloader's own HEAD probe (http_transfer.h), asked once, with
// its answer turned into the errors a pull reports before it makes anything.
#include <string>

#include "core/error.h"
#include "store/download.h"
#include "store/http_transfer.h"
#include "store/url_policy.h"

namespace hearth::store {
namespace {

std::string host_of(const std::string& url) {
  auto start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  return url.substr(start, url.find_first_of("/?#", start) - start);
}

}  // namespace

std::optional<uint64_t> check_url(const std::string& url,
                                  std::shared_ptr<const AddressPolicy> policy) {
  TransferLimits limits;
  limits.connect_timeout = std::chrono::seconds(10);
  limits.stall_timeout = std::chrono::seconds(10);  // the whole probe: connect + stall, 20 s
  limits.address_policy = std::move(policy);
  const ProbeResult probe = probe_url(url, limits);
  if (!probe.refused.empty())
    throw Error(ErrorKind::invalid_input, refused_message(url, probe.refused));
  if (probe.unreachable)
    throw Error(ErrorKind::unavailable, "cannot reach " + host_of(url) + ": " + probe.error +
                                            " (is this machine offline?)");
  if (probe.status == 404 || probe.status == 410)
    throw Error(ErrorKind::not_found,
                url + ": not found (HTTP " + std::to_string(probe.status) + ")");
  if (probe.status < 200 || probe.status >= 300 || probe.size <= 0) return std::nullopt;
  return static_cast<uint64_t>(probe.size);
}

}  // namespace hearth::store
