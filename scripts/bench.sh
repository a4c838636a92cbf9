#!/usr/bin/env bash
# `make bench`: runs hearth's benchmarks on the release build and prints their JSON.
# Record figures worth keeping in bench/RESULTS.md together with the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."
hearth=build/release/src/cli/hearth
export HEARTH_CONFORMANCE_DIR="${HEARTH_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}"

# Every figure is printed with a ratio that carries across machines: to the same run's memory
# bandwidth, or to a baseline measured in the same run. Each summary starts with the CPU line
# (`hearth hw`'s model and family) that bench/RESULTS.md tables record.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Tokenizer: MB/s per vocabulary with the word cache and without it (alternating runs), the
# cache's speed-up on the mixed text and on random words (its worst case: every word new), and
# MB/s per GB/s of memory copy bandwidth.
"$hearth" bench tokenizer --vocab-dir "$HEARTH_CONFORMANCE_DIR/tokenizer" > "$work/tokenizer.json"
cat "$work/tokenizer.json"
python3 - "$work/tokenizer.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
copy = r["memory_copy_gbps"]
print(f"\ncpu: {r['cpu']}; memory copy {copy:.1f} GB/s")
print("| vocabulary | MB/s | no cache MB/s | cache speed-up (CPU time) | random words: speed-up (CPU time) | MB/s per copy GB/s |")
print("|---|---|---|---|---|---|")
for v in r["results"]:
    d = v["distinct_words"]
    print(f"| {v['vocab']} | {v['mb_per_s']:.1f} | {v['mb_per_s_no_cache']:.1f} | "
          f"{v['cache_speedup']:.2f} ({v['cache_speedup_cpu']:.2f}) | "
          f"{d['cache_speedup_cpu']:.2f} | {v['mb_per_s'] / copy:.2f} |")
PY

# Model: prompt processing and generation on the Llama-3.2-1B shape (Q4_0, random weights from
# `hearth synth`, written once to build/bench-models/, 0.77 GB): tg's effective bandwidth over the
# read bandwidth measured in the same run, and pp over tg. Skip with HEARTH_BENCH_MODEL=0.
if [ "${HEARTH_BENCH_MODEL:-1}" = "1" ]; then
  model=build/bench-models/llama-3.2-1b-q4_0-synth.gguf
  if [ ! -f "$model" ]; then
    mkdir -p build/bench-models
    "$hearth" synth --shape llama-3.2-1b --type q4_0 -o "$model"
  fi
  "$hearth" bench "$model" -p 128 -n 64 -r 3 --json > "$work/model.json"
  cat "$work/model.json"
  python3 - "$work/model.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"\ncpu: {r['cpu']}; {r['threads']} threads, {r['kernels']} kernels; "
      f"load average {r['load_average']}")
print("| test | tokens/s | ratio |")
print("|---|---|---|")
print(f"| pp{r['n_prompt']} | {r['pp']['tokens_per_s']:.2f} | "
      f"{r['pp_over_tg']:.2f} × tg (same run) |")
print(f"| tg{r['n_gen']} | {r['tg']['tokens_per_s']:.2f} | "
      f"{r['tg_effective_gbps']:.2f} GB/s = {r['tg_bandwidth_ratio']:.2f} × read bandwidth "
      f"({r['read_bandwidth_gbps']:.2f} GB/s, same run) |")
PY
else
  echo "bench: model pp/tg skipped (HEARTH_BENCH_MODEL=0)" >&2
fi

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
