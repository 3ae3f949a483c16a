#!/usr/bin/env bash
# Installs what lrkit's build, tests and workloads need on a fresh Debian
# machine, and nothing that is already there. Safe to run again.
#   scripts/setup.sh          packages for building and running
#   scripts/setup.sh test     also what the tests need (PyTorch for the
#                             parity references, chromium, PostgreSQL)
set -euo pipefail
want=(libopenblas-dev bible-kjv dataset-fashion-mnist)
if [ "${1:-}" = test ]; then
  # PyTorch for the parity references and the Python client's test,
  # chromium for the browser tests, PostgreSQL for the store and server.
  # python3-venv, -pip, -setuptools, -wheel and gcc install and test the
  # Python package offline.
  want+=(python3-torch chromium postgresql python3-venv python3-pip python3-setuptools python3-wheel gcc)
fi
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { [ -x /usr/local/go/bin/go ] && export PATH=/usr/local/go/bin:$PATH; }
go mod download
