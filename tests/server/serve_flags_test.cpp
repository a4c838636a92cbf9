// `hearth serve` takes every setting of the configuration table that has a flag (what
// `hearth help config` lists), and each flag reaches the server.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/config.h"
#include "server/server_process.h"
#include "support/test_support.h"

namespace {

using hearth::test::run_hearth;

TEST(ServeFlags, HelpListsEveryFlagOfTheSettingsTable) {
  const auto help = run_hearth({"serve", "--help"});
  ASSERT_EQ(help.exit_code, 0) << help.err;
  const auto config = run_hearth({"help", "config"});
  ASSERT_EQ(config.exit_code, 0) << config.err;
  int flags = 0;
  for (const auto& s : hearth::config::settings()) {
    if (s.flag.empty()) continue;
    ++flags;
    const std::string flag(s.flag);
    EXPECT_NE(help.out.find(flag + " "), std::string::npos) << flag << " missing from:\n" << help.out;
    EXPECT_NE(config.out.find("(" + flag + ")"), std::string::npos) << flag;
  }
  EXPECT_GE(flags, 10);
}

TEST(ServeFlags, FlagsTakeEffect) {
  hearth::test::TempDir home;
  const auto db = home.path() / "elsewhere.db";
  hearth::test::ServerProcess server(
      home.path(), {"--keep-alive", "0", "--parallel", "2", "--max-queue", "7", "--threads", "1",
                    "--log", "error", "--db", "sqlite://" + db.string(), "--auth", "auto",
                    "--allowed-hosts", "myhost", "--origins", "https://app.example"});
  ASSERT_TRUE(server.wait_listening(std::chrono::seconds(20))) << server.output();
  EXPECT_NE(server.output().find(db.string()), std::string::npos) << server.output();
  hearth::test::HttpOptions options;
  options.headers = {"Host: myhost", "Origin: https://app.example"};
  const auto r = hearth::test::http("GET", server.url("/api/tags"), nullptr, options);
  EXPECT_EQ(r.status, 200) << r.body;
}

// A bad value given as a flag is refused with the setting's name: proof that it got there.
TEST(ServeFlags, BadFlagValuesNameTheSetting) {
  hearth::test::TempDir home;
  const std::vector<std::pair<std::string, std::string>> env{{"HEARTH_HOME", home.path().string()}};
  for (const auto& [flag, value, setting] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--parallel", "0", "HEARTH_NUM_PARALLEL"},
           {"--max-queue", "-1", "HEARTH_MAX_QUEUE"},
           {"--max-upload", "0", "HEARTH_MAX_UPLOAD"},
           {"--max-blob", "0", "HEARTH_MAX_BLOB"},
           {"--auth-failures", "-1", "HEARTH_AUTH_FAILURES"},
           {"--auth-window", "0", "HEARTH_AUTH_WINDOW"},
           {"--threads", "many", "HEARTH_THREADS"},
           {"--keep-alive", "soon", "HEARTH_KEEP_ALIVE"},
           {"--log", "loud", "HEARTH_LOG"}}) {
    const auto r = run_hearth({"serve", "--host", "127.0.0.1:0", flag, value}, env);
    EXPECT_EQ(r.exit_code, 2) << flag << ": " << r.out << r.err;
    EXPECT_NE(r.err.find(setting), std::string::npos) << flag << ": " << r.err;
  }
}

}  // namespace
