#!/usr/bin/env bash
# The benchmark's pruner, measured: runs (or resumes) the quick study and
# its pruned twin (bench/studies/quick-pruned.yaml: the same study with
# tuning.prune on) and writes docs/results/pruning.md, which compares the
# peaks each chose, their evaluation results and the compute the pruner
# saved, beside the default pruner replayed on the quick study's full
# selection runs. The quick study alone took 2-2.5 minutes on two idle
# cores (measured); the pruned twin was not timed on an idle machine.
#
#   scripts/prune-study.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make build
export OPENBLAS_NUM_THREADS=1 # a study runs one trial per core
./bin/lrkit bench --quick -o out/bench/quick
./bin/lrkit bench bench/studies/quick-pruned.yaml -o out/bench/quick-pruned
mkdir -p docs/results
python3 scripts/prune-compare.py out/bench/quick/results.json out/bench/quick-pruned/results.json >docs/results/pruning.md
echo "wrote docs/results/pruning.md" >&2
