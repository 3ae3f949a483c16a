#!/usr/bin/env bash
# The fixed-budget study on kjv-gpt-small in docs/results.md (issue 11):
# bench/studies/kjv.yaml with the OpenBLAS build when libopenblas-dev is
# installed. Resumable: run it again after an interrupt and it redoes no
# finished trial. The report (HTML, Markdown, CSV, plots) goes to
# out/bench/kjv; about 40 minutes on two cores.
#
#   scripts/kjv-study.sh
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
command -v "$go" >/dev/null || go=/usr/local/go/bin/go
tags=""
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/openblas/cblas.h ]; then tags="-tags openblas"; fi
# shellcheck disable=SC2086
"$go" build $tags -o bin/lrkit ./cmd/lrkit
bin/lrkit workloads fetch >/dev/null
out=out/bench/kjv
OPENBLAS_NUM_THREADS=1 bin/lrkit bench bench/studies/kjv.yaml -o "$out"
bin/lrkit report kjv --db "$out/lrkit.db" -o "$out"
echo "report: $out/report.md"
