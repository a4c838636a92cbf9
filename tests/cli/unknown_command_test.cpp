// A mistyped command is named in the error, with the nearest command when there is one.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace hearth {
namespace {

TEST(UnknownCommand, IsNamedWithTheNearestCommand) {
  test::CommandResult r = test::run_hearth({"lst"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'lst'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'list'?"), std::string::npos) << r.err;

  r = test::run_hearth({"frobnicate", "--json"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("unknown command 'frobnicate'"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("did you mean"), std::string::npos) << r.err;

  // Real commands, aliases and options still reach the parser.
  EXPECT_EQ(test::run_hearth({"--version"}).exit_code, 0);
  EXPECT_EQ(test::run_hearth({"ls", "--help"}).exit_code, 0);
  r = test::run_hearth({});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.err.find("unknown command"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hearth
