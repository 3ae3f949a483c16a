#!/usr/bin/env bash
# Early indicators (docs/papers.md §1): trains the sibling trials of
# cmd/papers' early study into out/papers/early (resumable: finished runs
# are skipped), writes docs/papers/early.md and its figures, and
# reassembles docs/papers.md. Uses the OpenBLAS build when it is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
tags=""
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ]; then tags="-tags openblas"; fi
mkdir -p bin
go build $tags -o bin/papers-early ./cmd/papers
OPENBLAS_NUM_THREADS=1 nice -n 10 ./bin/papers-early early -out out/papers/early -doc docs/papers "$@"
scripts/papers-assemble.sh
