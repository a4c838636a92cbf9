#!/usr/bin/env bash
# `make bench`: runs hearth's benchmarks on the release build and prints their JSON.
# Record figures worth keeping in bench/RESULTS.md together with the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."
hearth=build/release/src/cli/hearth
export HEARTH_CONFORMANCE_DIR="${HEARTH_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}"
"$hearth" bench tokenizer --vocab-dir "$HEARTH_CONFORMANCE_DIR/tokenizer"
