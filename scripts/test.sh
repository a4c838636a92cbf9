#!/usr/bin/env bash
# `make test`: installs what is missing, builds the release tree with warnings as errors, runs
# every ctest test and the end-to-end tests (scripts/e2e.sh), and ends with one line
# "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

if ! cmake --preset release -DHEARTH_WERROR=ON >/dev/null || ! cmake --build --preset release -j "$jobs"; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

# The database tests need a real PostgreSQL (DESIGN.md §7): a throwaway cluster, removed on exit.
# Not being able to start one is a failure, never a reason to skip those tests.
pg_dir=$(mktemp -d /tmp/hearth-pg.XXXXXX)
trap 'bash scripts/postgres.sh stop "$pg_dir"' EXIT
if ! HEARTH_TEST_POSTGRES_URL=$(bash scripts/postgres.sh start "$pg_dir"); then
  echo "could not start the test PostgreSQL (scripts/postgres.sh start); the database tests need it"
  echo "0 passed, 1 failed"
  exit 1
fi
export HEARTH_TEST_POSTGRES_URL

# ctest starts the longest tests first when it knows their times (Testing/Temporary/
# CTestCostData.txt, written by every run). A clean clone has none, and then a minute-long test
# can start last and run alone on one core at the end: the recorded times (tests/ctest_costs.txt)
# seed the file, and each run's own times replace them after. tests/ctest_costs.txt is that
# file's format (name, runs, seconds; tests under a second left out, they start last anyway);
# refresh it from a run's CTestCostData.txt when long tests are added.
costs=build/release/Testing/Temporary/CTestCostData.txt
if [ ! -f "$costs" ] && [ -f tests/ctest_costs.txt ]; then
  mkdir -p "$(dirname "$costs")" && cp tests/ctest_costs.txt "$costs"
fi

log=$(mktemp)
(cd build/release && ctest -j "$jobs" --timeout 600 --output-on-failure) 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# ctest's summary: "100% tests passed, 0 tests failed out of 57"; skipped tests count in the
# total and are listed as "(Skipped)".
summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)' "$log")
rm -f "$log"
if [ -z "$summary" ]; then
  echo "ctest printed no summary"
  echo "0 passed, 1 failed"
  exit 1
fi
failed=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$summary")
total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
passed=$((total - failed - skipped))

# End-to-end tests (scripts/e2e.sh, tests/e2e): the real openai and ollama npm clients against
# the release binary's `hearth serve`. Each node test counts as one test in the closing line.
e2e_log=$(mktemp)
HEARTH_BIN="$PWD/build/release/src/cli/hearth" bash scripts/e2e.sh 2>&1 | tee "$e2e_log"
e2e_status=${PIPESTATUS[0]}
e2e_line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$e2e_log" | tail -n 1)
rm -f "$e2e_log"
if [ -n "$e2e_line" ]; then
  read -r e2e_passed e2e_failed e2e_skipped < <(sed -E 's/^e2e: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/' <<<"$e2e_line")
else
  echo "scripts/e2e.sh printed no summary"
  e2e_passed=0 e2e_failed=1 e2e_skipped=0
fi
[ "$e2e_status" -ne 0 ] && [ "$e2e_failed" -eq 0 ] && e2e_failed=1
passed=$((passed + e2e_passed))
failed=$((failed + e2e_failed))
skipped=$((skipped + e2e_skipped))

echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
