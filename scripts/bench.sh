#!/usr/bin/env bash
# `make bench`: runs hearth's benchmarks on the release build and prints their JSON.
# Record figures worth keeping in bench/RESULTS.md together with the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."
hearth=build/release/src/cli/hearth
export HEARTH_CONFORMANCE_DIR="${HEARTH_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}"
"$hearth" bench tokenizer --vocab-dir "$HEARTH_CONFORMANCE_DIR/tokenizer"

# Serving under concurrency (bench/serve_concurrency.mjs): 1, 4 and 8 streaming chats against
# `hearth serve` with a Llama-3.2-1B-shaped random-weight Q4_0 model (written once to
# build/bench-models/, 0.77 GB). Optional, as it takes a few minutes: HEARTH_BENCH_SERVE=1 make bench.
if [ "${HEARTH_BENCH_SERVE:-0}" = "1" ]; then
  node bench/serve_concurrency.mjs --hearth "$hearth"
else
  echo "bench: serve_concurrency skipped (run it with HEARTH_BENCH_SERVE=1 make bench)" >&2
fi

# Training speed (scripts/bench_train.sh): LoRA training tokens/s against prompt processing on the
# Llama-3.2-1B shape. Optional, as it takes several minutes: HEARTH_BENCH_TRAIN=1 make bench.
if [ "${HEARTH_BENCH_TRAIN:-0}" = "1" ]; then
  bash scripts/bench_train.sh
else
  echo "bench: training speed skipped (run it with HEARTH_BENCH_TRAIN=1 make bench)" >&2
fi

# Serving LoRA versions of one base (scripts/bench_adapters.sh): 4 sequences with no adapter, 2
# and 4 different adapters applied per sequence in one batch. Optional, as it takes a few
# minutes: HEARTH_BENCH_ADAPTERS=1 make bench.
if [ "${HEARTH_BENCH_ADAPTERS:-0}" = "1" ]; then
  bash scripts/bench_adapters.sh
else
  echo "bench: per-sequence adapters skipped (run it with HEARTH_BENCH_ADAPTERS=1 make bench)" >&2
fi

# Long contexts: prompt processing (pp512) and generation (tg128) with 0 and 4096 tokens already
# in the cache (`hearth bench -d`, as llama-bench -d), F16 KV cache, on the Llama-3.2-1B-shaped
# random-weight Q4_0 file (written once to build/bench-models/, 0.77 GB). `make bench-long` adds
# a depth of 16384 (HEARTH_BENCH_DEPTHS, comma-separated, picks the depths). A few minutes on two
# cores; HEARTH_BENCH_DEPTHS=none skips it.
depths="${HEARTH_BENCH_DEPTHS:-0,4096}"
if [ "$depths" != "none" ]; then
  model=build/bench-models/llama-3.2-1b-q4_0-synth.gguf
  if [ ! -f "$model" ]; then
    mkdir -p build/bench-models
    "$hearth" synth --shape llama-3.2-1b --type q4_0 -o "$model" >&2
  fi
  "$hearth" bench "$model" -p 512 -n 128 -d "$depths" -r 2 --json
else
  echo "bench: depth figures skipped (HEARTH_BENCH_DEPTHS=none)" >&2
fi
