#!/usr/bin/env bash
# Plasticity (docs/papers.md §4): tunes the constant rate of plain and NaP
# training on a selection seed, trains seeds 1-5 on permuted-mnist into
# out/papers/plasticity (resumable), writes docs/papers/plasticity.md and its
# figures, and reassembles docs/papers.md.
set -euo pipefail
cd "$(dirname "$0")/.."
tags=""
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ]; then tags="-tags openblas"; fi
mkdir -p bin
go build $tags -o bin/papers-plasticity ./cmd/papers
OPENBLAS_NUM_THREADS=1 nice -n 10 ./bin/papers-plasticity plasticity -out out/papers/plasticity -doc docs/papers "$@"
scripts/papers-assemble.sh
