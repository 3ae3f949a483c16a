#!/usr/bin/env bash
# The server's load figures in docs/server.md, reproducible: the ceiling
# benchmark (one loopback load generator against a bare net/http handler
# that answers fixed JSON, lrkit's rate route and its metrics route, at
# saturation and at offered rates from 2,000/s up) and the mixed load test
# (1,000 paced trainers asking rates and posting metric batches, through
# the same lean generator, against the bare handler and then lrkit, with
# their ratio), for this
# tree and, given a git revision, for that revision too, interleaved round
# by round so that the machine's load (shared with other work) hits both
# alike. Each run logs the load average and the CPU share it got.
#
#   scripts/server-load.sh [ROUNDS] [REV | nice=N]
#
# ROUNDS (default 2) rounds of: ceiling with 10-record and with 64-record
# metric batches, then the mixed test at 20,000/s offered; REV (e.g.
# 9e248a7, the commit that added the ceiling benchmark before the server
# changes of issue 18) is built from `git archive` in a temporary
# directory; "nice=N" compares this tree with itself as run by
# lrkit serve --ingest-nice N. Logs go to out/server-load/ (one file per run, and
# summary.txt). Everything runs on loopback only, bounded in time (about 4
# minutes per round and tree).
set -euo pipefail

rounds=${1:-2}
rev=${2:-}
# shellcheck source=scripts/lib/load.sh
. "$(dirname "$0")/lib/load.sh"
load_init out/server-load

test_binary . ./server "$out/after.test"
trees=(after)
if [[ "$rev" == nice=* ]]; then
	# This tree twice: as lrkit serve runs by default, and as with
	# --ingest-nice N (LRKIT_LOAD_INGEST_NICE=N, see server/rig_test.go).
	nice=${rev#nice=}
	cp "$out/after.test" "$out/nice$nice.test"
	trees=(after "nice$nice")
elif [ -n "$rev" ]; then
	tree_of "$rev" "$tmp"
	# The same generator and tests on both trees.
	server_load_tests "$tmp"
	test_binary "$tmp" ./server "$out/before.test"
	trees=(after before)
fi

run() { # run TREE LOG ENV...: one test run of TREE's binary from the server dir
	local tree=$1 log=$2
	shift 2
	if [[ "$tree" == nice* ]]; then set -- "$@" LRKIT_LOAD_INGEST_NICE="${tree#nice}"; fi
	(cd server && env "$@" "../$out/$tree.test" -test.v -test.timeout 30m "${RUN[@]}") >"$out/$log" 2>&1 || echo "run $log failed (see $out/$log)" >&2
}

for r in $(seq 1 "$rounds"); do
	for tree in "${trees[@]}"; do
		echo "round $r, $tree: ceiling, 10-record batches" >&2
		RUN=(-test.run '^TestLoadCeiling$')
		run "$tree" "ceiling10-$tree-$r.txt" LRKIT_LOAD=ceiling LRKIT_CEILING_ROUNDS=3 LRKIT_CEILING_SECS=3 LRKIT_CEILING_BATCH=10
		echo "round $r, $tree: ceiling, 64-record batches" >&2
		run "$tree" "ceiling64-$tree-$r.txt" LRKIT_LOAD=ceiling LRKIT_CEILING_ROUNDS=1 LRKIT_CEILING_SECS=3 LRKIT_CEILING_BATCH=64
		echo "round $r, $tree: mixed load, 20,000/s offered by 1,000 trainers" >&2
		RUN=(-test.run '^TestLoad$')
		run "$tree" "mixed-$tree-$r.txt" LRKIT_LOAD=full
	done
done

{
	for f in "$out"/ceiling*-*.txt "$out"/mixed-*.txt; do
		echo "== $f"
		grep -E "load average|saturation |rate route / bare|lrkit / bare|achieved|trainers, " "$f" | sed 's/^ *//' || true
	done
} >"$out/summary.txt"
echo "summary: $out/summary.txt" >&2
