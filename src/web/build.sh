#!/usr/bin/env bash
# The build's step for the pages (CMakeLists.txt): installs the pinned npm packages with `npm ci`
# when node_modules is missing or the lockfile changed, then bundles (build.mjs).
#   build.sh OUT_DIR
set -euo pipefail
cd "$(dirname "$0")"
out="$1"
command -v npm >/dev/null || { echo "web: npm is needed to build the pages (scripts/install-deps.sh)" >&2; exit 1; }
stamp=node_modules/.hearth-installed
want=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "web: installing the pinned npm packages (npm ci in src/web)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi
node build.mjs --out "$out"
