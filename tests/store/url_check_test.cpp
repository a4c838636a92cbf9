// store::check_url (download.h): the one quick probe before a pull, through the downloader's
// own transfer path, against a loopback file server.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>

#include "core/error.h"
#include "store/download.h"
#include "store/http_file_server.h"
#include "store/url_policy.h"
#include "support/test_support.h"

namespace hearth::test {
namespace {

std::optional<ErrorKind> kind_of_check(const std::string& url,
                                       std::shared_ptr<const store::AddressPolicy> policy = {}) {
  try {
    store::check_url(url, std::move(policy));
  } catch (const Error& e) {
    return e.kind();
  }
  return std::nullopt;
}

TEST(CheckUrl, GivesTheSizeAndTurnsFailuresIntoErrorsBeforeAnyDownload) {
  TempDir temp;
  std::ofstream(temp.path() / "model.gguf") << std::string(12345, 'm');
  HttpFileServer server(temp.path());

  EXPECT_EQ(store::check_url(server.url("model.gguf")), std::optional<uint64_t>(12345));
  EXPECT_EQ(server.body_bytes_sent(), 0u);  // a HEAD: nothing of the file came

  // 404: not_found naming the URL.
  try {
    store::check_url(server.url("missing.gguf"));
    ADD_FAILURE() << "no error for a missing file";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find("HTTP 404"), std::string::npos) << e.what();
  }

  // Nobody listening: unavailable at once, naming the host.
  const auto start = std::chrono::steady_clock::now();
  try {
    store::check_url("http://127.0.0.1:1/model.gguf");
    ADD_FAILURE() << "no error for an unreachable host";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unavailable);
    EXPECT_NE(std::string(e.what()).find("cannot reach 127.0.0.1:1"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));

  // An address the policy refuses: invalid_input, and no connection was made.
  server.reset_counters();
  EXPECT_EQ(kind_of_check(server.url("model.gguf"), store::AddressPolicy::public_only()),
            ErrorKind::invalid_input);
  EXPECT_EQ(server.connections(), 0);

  // A server error is left for the download to judge.
  ServerFaults faults;
  faults.fail_first_requests = 1;
  server.set_faults(faults);
  EXPECT_EQ(store::check_url(server.url("model.gguf")), std::nullopt);
}

}  // namespace
}  // namespace hearth::test
