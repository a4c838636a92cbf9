// The downloader's address policy (url_policy.h): which addresses are refused, that a refusal
// comes before any connection (the loopback server counts the connections it accepted), that
// redirects are checked hop by hop, and that only http(s) is spoken. No test here connects
// anywhere but 127.0.0.1: the other addresses are refused before a socket exists.
#include <gtest/gtest.h>

#include <chrono>

#include "core/error.h"
#include "store/url_policy.h"
#include "store_test_util.h"

namespace hearth::test {
namespace {

using store::AddressPolicy;
using store::Downloader;

TEST(AddressClass, RefusedClassesAndPublicAddresses) {
  const std::vector<std::pair<const char*, const char*>> refused = {
      {"127.0.0.1", "loopback"},
      {"127.8.9.10", "loopback"},
      {"10.0.0.1", "private network"},
      {"172.16.0.1", "private network"},
      {"172.31.255.254", "private network"},
      {"192.168.1.1", "private network"},
      {"100.64.0.1", "shared (carrier-grade NAT)"},
      {"100.127.255.254", "shared (carrier-grade NAT)"},
      {"169.254.169.254", "link-local"},
      {"0.0.0.0", "unspecified"},
      {"224.0.0.1", "multicast"},
      {"239.255.255.250", "multicast"},
      {"255.255.255.255", "broadcast"},
      {"240.0.0.1", "reserved"},
      {"::1", "loopback"},
      {"::", "unspecified"},
      {"fd00::1", "unique-local"},
      {"fc00::1", "unique-local"},
      {"fe80::1", "link-local"},
      {"fec0::1", "site-local"},
      {"ff02::1", "multicast"},
      {"::ffff:10.0.0.1", "private network"},
      {"::ffff:127.0.0.1", "loopback"},
      {"::ffff:169.254.169.254", "link-local"},
      {"::10.0.0.1", "private network"},
      {"64:ff9b::a00:1", "private network"},
  };
  for (const auto& [ip, what] : refused) EXPECT_EQ(store::address_class(ip), what) << ip;
  for (const char* ip :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "100.128.0.1", "192.169.0.1",
        "169.253.0.1", "2606:4700:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8"})
    EXPECT_EQ(store::address_class(ip), "") << ip;
  EXPECT_EQ(store::address_class("localhost"), "not an IP address");
}

class UrlPolicyTest : public StoreFixture {
 protected:
  // The error of a download under `policy`; fails the test when it does not throw.
  Error refusal(const std::string& url, std::shared_ptr<const AddressPolicy> policy) {
    store::DownloadOptions options = quick_download_options();
    options.address_policy = std::move(policy);
    Downloader downloader(blobs(), options);
    const auto start = std::chrono::steady_clock::now();
    try {
      downloader.fetch({url, ""});
    } catch (const Error& e) {
      // Refused at once: not after the retries' backoff, nor a connect timeout.
      EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2)) << url;
      return e;
    }
    ADD_FAILURE() << url << " was downloaded";
    return Error(ErrorKind::internal, "");
  }
  std::string on_server(const std::string& host, const std::string& file) const {
    return "http://" + host + ":" + std::to_string(server->port()) + "/" + file;
  }
};

TEST_F(UrlPolicyTest, EveryRefusedClassIsRefusedBeforeConnecting) {
  for (const char* url :
       {"http://10.0.0.1/m.gguf", "http://172.16.0.1/m.gguf", "http://192.168.0.1/m.gguf",
        "http://169.254.169.254/latest/meta-data/", "http://100.64.0.1/m.gguf",
        "http://0.0.0.0/m.gguf", "http://224.0.0.1/m.gguf", "https://[fd00::1]/m.gguf",
        "http://[::ffff:10.0.0.1]/m.gguf", "http://[fe80::1]/m.gguf"}) {
    Error e = refusal(url, AddressPolicy::public_only());
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << url;
    EXPECT_NE(std::string(e.what()).find("is not a public address"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("HEARTH_ALLOW_PRIVATE_URLS"), std::string::npos)
        << e.what();
  }
  // Loopback in every spelling, against a live server that counts connections.
  make_gguf(served() / "m.gguf", 64 << 10, 1);
  for (const std::string host : {"127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.1"}) {
    Error e = refusal(on_server(host, "m.gguf"), AddressPolicy::public_only());
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << host;
    EXPECT_NE(std::string(e.what()).find("loopback"), std::string::npos) << e.what();
  }
  EXPECT_EQ(server->connections(), 0);

  // Without a policy the same addresses work: the refusals above came from the policy.
  Downloader open(blobs(), quick_download_options());
  EXPECT_FALSE(open.fetch({on_server("[::ffff:127.0.0.1]", "m.gguf"), ""}).cancelled);
  EXPECT_GT(server->connections(), 0);
}

TEST_F(UrlPolicyTest, EveryRedirectHopIsChecked) {
  const TestModel model = make_gguf(served() / "m.gguf", 64 << 10, 2);
  HttpFileServer other(served());  // a second loopback server the policy does not allow
  auto policy = std::make_shared<AddressPolicy>();
  policy->allow_endpoint("127.0.0.1", static_cast<uint16_t>(server->port()));

  // Allowed origin, allowed target: downloads.
  server->redirect("same.gguf", server->url("m.gguf"));
  store::DownloadOptions options = quick_download_options();
  options.address_policy = policy;
  Downloader downloader(blobs(), options);
  EXPECT_EQ(downloader.fetch({server->url("same.gguf"), ""}).digest, model.digest);

  // Allowed origin redirecting to a refused server, a private address, another scheme.
  server->redirect("away.gguf", other.url("m.gguf"));
  server->redirect("private.gguf", "http://10.0.0.1/m.gguf");
  server->redirect("mapped.gguf", "http://[::ffff:169.254.169.254]/latest");
  server->redirect("named.gguf", "http://localhost:" + std::to_string(other.port()) + "/m.gguf");
  for (const char* file : {"away.gguf", "private.gguf", "mapped.gguf", "named.gguf"}) {
    Error e = refusal(server->url(file), policy);
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << file;
    EXPECT_NE(std::string(e.what()).find("is not a public address"), std::string::npos) << e.what();
  }
  server->redirect("file.gguf", "file:///etc/hostname");
  Error e = refusal(server->url("file.gguf"), policy);
  EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
  EXPECT_NE(std::string(e.what()).find("only http:// and https://"), std::string::npos) << e.what();
  EXPECT_EQ(other.connections(), 0);
}

TEST_F(UrlPolicyTest, OnlyHttpAndHttpsAreDownloaded) {
  for (const char* url :
       {"file:///etc/hostname", "ftp://127.0.0.1/m.gguf", "gopher://x/y", "/etc/hostname"}) {
    Error e = refusal(url, nullptr);  // even the owner's own downloads
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << url;
    EXPECT_NE(std::string(e.what()).find("only http:// and https://"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hearth::test
