#!/usr/bin/env bash
# Installs every Debian package the build, lint and tests need. Idempotent and fast when
# everything is present (dpkg query only, no apt-get update).
set -euo pipefail
PKGS=(
  build-essential g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libyaml-dev libcli11-dev libfmt-dev zlib1g-dev
  libgtest-dev libgmock-dev
  libre2-dev
  redis-server  # the OAuth Valkey store's unit tests start a real one
  clang-15 libfuzzer-15-dev llvm-15
  clang-format cppcheck shellcheck
  openssl curl jq ca-certificates psmisc iproute2
)
missing=()
# test/cluster uses python3 for echo servers; any python3 on PATH will do (pyenv counts).
command -v python3 >/dev/null || missing+=(python3)
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "installing: ${missing[*]}" >&2
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
