#!/usr/bin/env bash
# Continual training (docs/papers.md §2): tunes each strategy's peak on a
# selection seed, trains seeds 1-5 on mnist-then-fashion into
# out/papers/continual and on kjv-ot-then-nt into out/papers/continual-kjv
# (resumable; the kjv pair takes about 20 minutes), writes
# docs/papers/continual.md, continual-kjv.md and their figures, and
# reassembles docs/papers.md.
set -euo pipefail
cd "$(dirname "$0")/.."
tags=""
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ]; then tags="-tags openblas"; fi
mkdir -p bin
go build $tags -o bin/papers-continual ./cmd/papers
OPENBLAS_NUM_THREADS=1 nice -n 10 ./bin/papers-continual continual -pair mnist-fashion -out out/papers/continual -doc docs/papers "$@"
OPENBLAS_NUM_THREADS=1 nice -n 10 ./bin/papers-continual continual -pair kjv -out out/papers/continual-kjv -doc docs/papers "$@"
scripts/papers-assemble.sh
