// Linked into every test binary: one master key for every process of a test run (the test and
// the `hearth` processes it starts, whatever HEARTH_HOME each has), so a database opened in the
// test and again by a child opens with the same key. Tests about keys set their own.
#include <cstdlib>
#include <string>

namespace {

struct SharedTestKey {
  SharedTestKey() {
    if (std::getenv("HEARTH_KEY_FILE") == nullptr)
      ::setenv("HEARTH_KEY_FILE", "/tmp/hearth-test-secrets/master.key", 0);
  }
};

const SharedTestKey shared_test_key;

}  // namespace
