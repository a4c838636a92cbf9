#!/usr/bin/env bash
# `make serve`: hearth's main job. Until the server lands this shows what the built hearth can do
# today; it becomes `hearth serve` (a starter model over the OpenAI/Ollama API) when that exists.
set -euo pipefail
cd "$(dirname "$0")/.."
hearth=build/release/src/cli/hearth
if "$hearth" serve --help >/dev/null 2>&1; then
  exec "$hearth" serve "$@"
fi
echo "hearth $("$hearth" --version | awk '{print $2}') is built at $hearth."
echo "The server is not part of this build yet; these commands work now:"
"$hearth" --help
