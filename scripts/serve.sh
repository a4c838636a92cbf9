#!/usr/bin/env bash
# `make serve`: hearth's main job, after `make build`.
#   1. When no model is installed, pull the catalog's starter model. Offline (or when that pull
#      fails), say so in one line and use a random-weight model instead: `hearth synth` writes
#      HEARTH_HOME/random-llama-3.2-1b-q4_0.gguf (once) and `hearth pull` installs that file as
#      `random-weights-llama-1b` (it computes garbage: for trying the machinery, not for text).
#   2. Run it: `hearth serve` when this build has the server, else `hearth run MODEL` (a chat in
#      the terminal; with stdin not a terminal it answers each line until end of input).
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

# Whether this build's server can chat: `hearth serve --help` names its chat endpoint once the
# inference routes exist (until then the server only lists models, and a chat in the terminal is
# what a user can do). `hearth serve --help` alone proves nothing: --help answers before an
# unknown subcommand is noticed, so the Subcommands list is checked first.
has_chat_server() {
  "$hearth" --help 2>/dev/null |
    awk '/^Subcommands:/ { s = 1; next } s && $1 == "serve" { f = 1 } END { exit !f }' &&
    "$hearth" serve --help 2>/dev/null | grep -q "/v1/chat/completions"
}

if has_chat_server; then
  echo "starting hearth serve (models: $(installed | paste -sd ' ' -))"
  exec "$hearth" serve "$@"
fi
echo "this build's server cannot chat yet; chatting with $model in the terminal (hearth run $model)"
if [[ $model == "$random_name"* ]]; then
  # Random weights rarely pick an end-of-turn token: cap each answer.
  echo "note: $model has random weights: its answers are noise (cut at 48 tokens)"
  exec "$hearth" run "$model" --max-tokens 48 "$@"
fi
exec "$hearth" run "$model" "$@"
