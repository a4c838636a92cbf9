#!/usr/bin/env bash
# End-to-end tests (DESIGN.md §4, §7): the real `openai` and `ollama` npm clients and raw HTTP
# against `hearth serve`, with Node's built-in test runner (tests/e2e/*.test.js).
#
#   scripts/e2e.sh [node --test options...]     e.g. --test-name-pattern=embed
#   E2E_FILES='web_*.test.js' scripts/e2e.sh     some files only (the browser tests here)
#
# HEARTH_BIN names the binary (default: build/release/src/cli/hearth). The pinned npm packages
# are installed with `npm ci` when tests/e2e/node_modules is missing or package.json /
# package-lock.json changed since the last install. The last line is
# "e2e: N passed, N failed, N skipped" (scripts/test.sh adds it to its own count).
set -uo pipefail
cd "$(dirname "$0")/.."
dir=tests/e2e
export HEARTH_BIN="${HEARTH_BIN:-$PWD/build/release/src/cli/hearth}"

fail() {
  echo "e2e: $1"
  echo "e2e: 0 passed, 1 failed, 0 skipped"
  exit 1
}

[ -x "$HEARTH_BIN" ] || fail "no hearth binary at $HEARTH_BIN (build it first, or set HEARTH_BIN)"
command -v node >/dev/null && command -v npm >/dev/null ||
  fail "node and npm are needed (scripts/install-deps.sh installs them)"

stamp=$dir/node_modules/.hearth-installed
want=$(cat "$dir/package.json" "$dir/package-lock.json" | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "e2e: installing the pinned npm packages (npm ci in $dir)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed in $dir"
  echo "$want" >"$stamp"
fi

# One test file at a time: each starts its own server, and the concurrency tests should not
# compete with another file's server for the cores. Node 18 runs files one at a time on two
# cores anyway and has no --test-concurrency; newer Node versions get it explicitly.
tap=$(mktemp /tmp/hearth-e2e-tap.XXXXXX)
trap 'rm -f "$tap"' EXIT
opts=(--test-reporter=spec --test-reporter-destination=stdout
      --test-reporter=tap --test-reporter-destination="$tap")
if node --help 2>/dev/null | grep -q -- '--test-concurrency'; then
  opts+=(--test-concurrency=1)
fi

# shellcheck disable=SC2086  # E2E_FILES is a glob, expanded in $dir
(cd "$dir" && node --test "${opts[@]}" "$@" ./${E2E_FILES:-*.test.js})
status=$?

# TAP's closing comments: "# pass N", "# fail N", "# cancelled N", "# skipped N", "# todo N".
grep -qE '^# pass [0-9]+$' "$tap" || fail "node --test printed no summary (exit status $status)"
count() { grep -E "^# $1 [0-9]+$" "$tap" | tail -n 1 | awk '{print $3} END {if (NR == 0) print 0}'; }
pass=$(count pass)
failed=$(($(count fail) + $(count cancelled)))
skipped=$(($(count skipped) + $(count todo)))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the runner failed outside any test
fi
echo "e2e: $pass passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
