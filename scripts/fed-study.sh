#!/usr/bin/env bash
# Runs the federated study of docs/federated.md (fed/studies/default.yaml)
# and writes its report to out/fed/default. Resumable: after an
# interruption, run it again and it continues where it stopped.
#   scripts/fed-study.sh                 the default study
#   scripts/fed-study.sh STUDY.yaml      another study (out/fed/<name>)
set -euo pipefail
cd "$(dirname "$0")/.."
study=${1:-fed/studies/default.yaml}
tags=()
# The OpenBLAS build when its headers are installed (scripts/setup.sh);
# one BLAS thread per run, two runs at once.
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ]; then tags=(-tags openblas); fi
export OPENBLAS_NUM_THREADS=1
mkdir -p out
go build "${tags[@]}" -o out/lrkit-fed ./cmd/lrkit
name=$(sed -n 's/^name: *//p' "$study" | head -1)
nice -n 10 out/lrkit-fed fed run "$study" --out "out/fed/${name:-fed}" --workers 2
