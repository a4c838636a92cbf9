#!/usr/bin/env bash
# `make serve`: hearth's main job, after `make build`.
#   1. When no model is installed, pull the catalog's starter model. Offline (or when that pull
#      fails), say so in one line and use a random-weight model instead: `hearth synth` writes
#      HEARTH_HOME/random-llama-3.2-1b-q4_0.gguf (once) and `hearth pull` installs that file as
#      `random-weights-llama-1b` (it computes garbage: for trying the machinery, not for text).
#   2. Serve it: `hearth serve` (OpenAI and Ollama APIs on HEARTH_HOST, default 127.0.0.1:11435)
#      with the embedded SQLite database, after printing the URL and a first request to try.
# Settings: HEARTH_HOME (where models live), HEARTH_BIN (the hearth binary to use),
# HEARTH_HF_ENDPOINT (a Hugging Face mirror).
set -euo pipefail
cd "$(dirname "$0")/.."
hearth=${HEARTH_BIN:-build/release/src/cli/hearth}
home=${HEARTH_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/hearth}
random_name=random-weights-llama-1b
random_file=$home/random-llama-3.2-1b-q4_0.gguf

# Installed models that passed their post-pull check, one name a line.
installed() {
  "$hearth" list | awk '
    NR > 1 && $1 == "note:" { failed[$2] = 1; next }
    NR > 1 && NF >= 4       { names[++n] = $1 }
    END { for (i = 1; i <= n; i++) if (!(names[i] in failed)) print names[i] }'
}

# Whether the Hugging Face endpoint answers on its port (DNS and TCP; 5 s at most).
online() {
  local endpoint=${HEARTH_HF_ENDPOINT:-https://huggingface.co}
  local rest=${endpoint#*://} port=443
  [[ $endpoint == http://* ]] && port=80
  local host=${rest%%/*}
  if [[ $host == *:* ]]; then port=${host##*:}; host=${host%:*}; fi
  timeout 5 bash -c ">/dev/tcp/$host/$port" 2>/dev/null
}

use_random_weights() {
  if [[ ! -f $random_file ]]; then
    mkdir -p "$home"
    echo "making $random_file (random weights in the shape of Llama 3.2 1B; it computes garbage)"
    "$hearth" synth --shape llama-3.2-1b --type q4_0 -o "$random_file"
  fi
  "$hearth" pull "$random_file" --name "$random_name"
  model=$random_name:latest
}

model=$(installed | head -n 1)
if [[ -z $model ]]; then
  starter=$("$hearth" catalog | awk '/\(starter\)/ { print $1; exit }')
  if [[ -z $starter ]]; then
    echo "the catalog names no starter model; using random weights instead"
    use_random_weights
  elif ! online; then
    echo "offline: cannot reach ${HEARTH_HF_ENDPOINT:-https://huggingface.co} to pull $starter; using a random-weight model instead"
    use_random_weights
  elif "$hearth" pull "$starter"; then
    model=$("$hearth" list | awk -v s="$starter:" 'index($1, s) == 1 { print $1; exit }')
  else
    echo "pulling $starter failed (see above); using a random-weight model instead"
    use_random_weights
  fi
fi

host=${HEARTH_HOST:-127.0.0.1:11435}
echo "starting hearth serve with $model (installed: $(installed | paste -sd ' ' -))"
echo "try:  curl http://$host/v1/chat/completions -H 'Content-Type: application/json' \\"
echo "        -d '{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}'"
if [[ $model == "$random_name"* ]]; then
  echo "note: $model has random weights: its answers are noise (pass max_tokens to cap them)"
fi
exec "$hearth" serve "$@"
