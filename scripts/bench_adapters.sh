#!/usr/bin/env bash
# Serving LoRA versions of one base (bench/adapters_bench.cpp): 4 sequences generating at once on
# one loaded model with (a) no adapters, (b) 2 different adapters, (c) 4 different ones (each
# sequence its own), every adapter applied per sequence inside the one batch; and, to tell the
# adapters' arithmetic from their splitting of the batch, one adapter shared by all 4. Prints each run's
# JSON line and a table: aggregate generated tokens/s (median of the repetitions), its ratio to
# (a) in the same repetition, the same per CPU-second of the process (steadier on a shared
# machine), the process's RSS and the adapters' bytes.
#
#   bash scripts/bench_adapters.sh [MODELS...]
# Default models: the largest conformance model (quant-base-f16, n_embd 256) and the
# Llama-3.2-1B shape in Q4_0 (`hearth synth`, random weights; written once to build/bench-models/,
# 0.77 GB; ~2 minutes on 2 cores). HEARTH_BENCH_ADAPTERS_REPS (default 3), _GEN (64), _RANK (16).
set -euo pipefail
cd "$(dirname "$0")/.."
hearth=${HEARTH:-build/release/src/cli/hearth}
bench=${HEARTH_ADAPTERS_BENCH:-build/release/bench/adapters_bench}
conformance="${HEARTH_CONFORMANCE_DIR:-$(cd .. && pwd)/shared/conformance}"
reps=${HEARTH_BENCH_ADAPTERS_REPS:-3}
gen=${HEARTH_BENCH_ADAPTERS_GEN:-64}
rank=${HEARTH_BENCH_ADAPTERS_RANK:-16}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  models=("$conformance/models/quant-base-f16.gguf")
  big=build/bench-models/llama-3.2-1b-q4_0.gguf
  mkdir -p build/bench-models
  [ -f "$big" ] || "$hearth" synth --shape llama-3.2-1b --type q4_0 -o "$big" >/dev/null
  models+=("$big")
fi

# The table's rows from a run's summary line.
cat > "$work/rows.py" <<'PY'
import json, os, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][0]["summary"]
name = os.path.basename(sys.argv[2])
for c in s["configs"]:
    print("| %s | %s | %.1f | %.2f | %.1f | %.2f | %.0f MiB | %.1f MiB |" % (
        name, c["adapters"], c["tokens_per_s"], c["ratio_to_base"],
        c["tokens_per_cpu_s"], c["cpu_ratio_to_base"],
        c["rss_bytes"] / 2**20, c["adapter_bytes"] / 2**20))
PY
: > "$work/rows.md"
for model in "${models[@]}"; do
  "$bench" "$model" --parallel 4 --gen "$gen" --prompt 16 --rank "$rank" --threads 2 \
    --reps "$reps" --dir "$work" 2>/dev/null | tee "$work/out.jsonl"
  python3 "$work/rows.py" "$work/out.jsonl" "$model" >> "$work/rows.md"
done
printf '\n| model | adapters | generated t/s | ratio to base | t per CPU-s | CPU ratio | RSS | adapter bytes |\n'
printf '|---|---|---|---|---|---|---|---|\n'
cat "$work/rows.md"
