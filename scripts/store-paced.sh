#!/usr/bin/env bash
# The store's paced ingest (store/paced_test.go: metric batches arriving at
# a steady rate, timed from when each was due) for this tree and, given a
# git revision, for that revision too, interleaved run by run so that the
# machine's other work hits both alike.
#
#   scripts/store-paced.sh [ROUNDS] [REV]
#
# Each round runs 2,000 batches/s of 50 records (100,000 records/s) and of
# 64 records (128,000 records/s) for 6 s per tree. Logs go to
# out/store-paced/ (summary.txt: one line per run, with the load average).
set -euo pipefail

rounds=${1:-3}
rev=${2:-}
# shellcheck source=scripts/lib/load.sh
. "$(dirname "$0")/lib/load.sh"
load_init out/store-paced

test_binary . ./store "$out/after.test"
trees=(after)
if [ -n "$rev" ]; then
	tree_of "$rev" "$tmp"
	cp store/paced_test.go "$tmp/store/"
	test_binary "$tmp" ./store "$out/$rev.test"
	trees=("$rev" after)
fi
summary=$out/summary.txt
echo "# $(date -u +%FT%TZ) rounds=$rounds rev=${rev:-none} head=$(git rev-parse --short HEAD)" >>"$summary"
for round in $(seq "$rounds"); do
	for batch in 50 64; do
		for tree in "${trees[@]}"; do
			log=$out/$tree-r$round-b$batch.log
			LRKIT_LOAD=paced LRKIT_PACED_BATCH=$batch "$out/$tree.test" -test.run '^TestPacedIngest$' -test.v >"$log" 2>&1 || {
				echo "$tree round $round batch $batch failed: $log" >&2
				exit 1
			}
			line="$tree round $round: $(grep -o '[0-9]* batches of .*' "$log") (load $(cut -d' ' -f1-3 /proc/loadavg))"
			echo "$line" | tee -a "$summary"
		done
	done
done
