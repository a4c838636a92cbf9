#!/usr/bin/env bash
# Training speed (issue 13's benchmark): LoRA training tokens/s on the Llama-3.2-1B shape
# (`hearth synth`, random weights) with Q4_0, Q8_0 and F16 bases, rank 16 on all seven targets,
# 512-token sequences, 2 threads; in the same run, `hearth bench` prompt tokens/s (pp512) of the
# same file, their ratio (target >= 0.4), the peak RSS of the training process and the planner's
# peak (`hearth train --dry-run`) when the trainer has one.
#
#   bash scripts/bench_train.sh [TYPES...]     (default: q4_0 q8_0 f16; ~2 minutes per type)
# Models are written once to build/bench-models/ (0.8-2.5 GB each).
set -euo pipefail
cd "$(dirname "$0")/.."
hearth=${HEARTH:-build/release/src/cli/hearth}
steps=${HEARTH_BENCH_TRAIN_STEPS:-4}
types=("$@")
[ ${#types[@]} -gt 0 ] || types=(q4_0 q8_0 f16)
models=build/bench-models
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$models"

# Sequences of 512 random token ids (the shape's 128256-token vocabulary), the second half targets.
python3 - "$work/data.jsonl" <<'PY'
import json, random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    for _ in range(8):
        tokens = [random.randrange(1000, 120000) for _ in range(512)]
        f.write(json.dumps({"tokens": tokens, "mask": [0] * 256 + [1] * 256}) + "\n")
PY

printf '| type | pp512 t/s | train t/s | train / pp | planner t/s | peak RSS | planner peak |\n'
printf '|---|---|---|---|---|---|---|\n'
for type in "${types[@]}"; do
  model="$models/llama-3.2-1b-$type.gguf"
  [ -f "$model" ] || "$hearth" synth --shape llama-3.2-1b --type "$type" -o "$model" >/dev/null
  pp=$("$hearth" bench "$model" -p 512 -n 0 -t 2 -r 1 --json |
       python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["pp"]["tokens_per_s"])')
  # The planner's figures: its peak and the speed it measured on a sample (--dry-run).
  "$hearth" train "$model" --data "$work/data.jsonl" --out "$work/a.gguf" --rank 16 \
    --batch 1 --max-seq 512 --threads 2 --dry-run > "$work/plan" 2>/dev/null
  plan=$(sed -n 's/^ *peak *//p' "$work/plan" | head -1)
  plan_speed=$(sed -n 's/.* at \([0-9.]*\) tokens\/s.*/\1/p' "$work/plan" | head -1)
  /usr/bin/time -f '%M' -o "$work/rss" "$hearth" train "$model" --data "$work/data.jsonl" \
    --out "$work/a.gguf" --rank 16 --batch 1 --max-seq 512 --threads 2 --steps "$steps" \
    --schedule constant --warmup 0 --no-shuffle --log "$work/log.jsonl" >/dev/null 2>&1
  # Tokens/s from the second step on (the first one also touches the weights for the first time).
  train=$(python3 - "$work/log.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip() and '"loss"' in l]
a, b = lines[0], lines[-1]
print("%.1f" % ((b["tokens"] - a["tokens"]) / (b["elapsed_s"] - a["elapsed_s"])))
PY
)
  rss=$(awk '{printf "%.2f GiB", $1 / 1048576}' "$work/rss")  # %M is in KiB
  ratio=$(python3 -c "print('%.2f' % ($train / $pp))")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$type" "$pp" "$train" "$ratio" "$plan_speed" \
    "$rss" "$plan"
done
