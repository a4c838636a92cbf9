#!/usr/bin/env bash
# The one list of hearth's system dependencies (Debian 12 packages, see DESIGN.md §5).
# Installs only what is missing, says what it installs, and is safe to run again.
# Runs as root, or through sudo when not root.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git clang-format
  # HTTP, WebSocket, TLS, URLs, JSON (versioned Boost 1.81: never the unversioned 1.74 -dev packages)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libssl-dev
  # database
  libsoci-dev libsqlite3-dev libpq-dev postgresql-15 postgresql-client-15
  # downloads, crypto, tokenizer regex
  libcurl4-openssl-dev libsodium-dev libpcre2-dev
  # logging, command line
  libspdlog-dev libfmt-dev libcli11-dev
  # IANA time zones (core/time_zone.h reads /usr/share/zoneinfo: weekly training windows)
  tzdata
  # tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # end-to-end tests: real clients and a real browser
  nodejs chromium curl openssl   # nodejs ships npm; curl and openssl: the server tests use their CLIs
  # GPU offload (Vulkan; lavapipe lets tests run without a GPU)
  glslc libvulkan-dev mesa-vulkan-drivers
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Debian's nodejs ships without npm (a separate package); other Node.js builds include it.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
