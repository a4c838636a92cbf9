// What a pull asked for through the HTTP API may do, and what its errors may say.
//
// The machine's owner pulls with the `hearth` command (or as the implicit local user) and may
// fetch from anywhere. A pull requested through the API (PullOptions::through_api) is someone
// else's request executed by the server, so:
//   - an http(s) URL the caller gave may only reach public addresses (store/url_policy.h),
//     redirects included, unless the owner sets HEARTH_ALLOW_PRIVATE_URLS=1. The catalog's and
//     hf:// downloads go to HEARTH_HF_ENDPOINT, which the owner chose, and are not limited.
//   - its errors never carry bytes of what was read: I/O and internal failures become a short
//     message (the details go to the server's log). Paths of the server's files are taken out
//     of every answer by public_message (server/json_util.h).
#pragma once

#include <memory>

#include "core/error.h"
#include "store/url_policy.h"

namespace hearth::library {

struct PullOptions;
struct PullPlan;

// The address policy for fetching `plan` (null: any address).
std::shared_ptr<const store::AddressPolicy> pull_address_policy(const PullPlan& plan,
                                                                const PullOptions& options);

// `error` as the caller may see it (see above); unchanged for the owner's own pulls.
Error shown_pull_error(const Error& error, const PullOptions& options);

}  // namespace hearth::library
