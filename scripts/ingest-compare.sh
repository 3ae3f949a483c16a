#!/usr/bin/env bash
# Metric ingest and rate latency for several builds and settings side by
# side, interleaved round by round (the machine is shared): for each
# configuration, the ceiling benchmark with 50- and 64-record batches (its
# paced level of 2,000 batches/s is 100,000 and 128,000 records/s; 6 s per
# level) and the mixed load test (1,000 trainers, 20,000 rate requests/s).
#
#   scripts/ingest-compare.sh ROUNDS CONFIG...
#
# A CONFIG is "this" (this tree), a git revision (built from git archive
# with this tree's load test files), either followed by ":nice=N" (ingest
# at nice N, as lrkit serve --ingest-nice N), ":procs=P" (GOMAXPROCS P)
# and/or ":share=S" (as lrkit serve --ingest-share S), in that order.
# Example: scripts/ingest-compare.sh 2 a131cbc this this:share=1 this:nice=10
# One line per run goes to out/ingest-compare/summary.txt (and the
# terminal), with the load average; logs beside it. Loopback only, about
# 5 minutes per configuration and round.
set -euo pipefail

rounds=${1:?rounds}
shift
# shellcheck source=scripts/lib/load.sh
. "$(dirname "$0")/lib/load.sh"
load_init out/ingest-compare

binary() { # binary TREE: the server test binary of TREE, built with this tree's load tests
	local bin=$out/$1.test
	if [ "$1" = this ]; then
		test_binary . ./server "$bin"
	else
		tree_of "$1" "$tmp/$1"
		server_load_tests "$tmp/$1"
		test_binary "$tmp/$1" ./server "$bin"
	fi
	echo "$bin"
}

run() { # run LOG [VAR=VALUE...] BINARY ARGS...: one run, its output in LOG
	local log=$1
	shift
	env "$@" >"$log" 2>&1 || echo "ingest-compare: run failed, see $log" >&2
}

declare -A bins
for c in "$@"; do
	if ! [[ "$c" =~ ^[^:]+(:nice=[0-9]+)?(:procs=[0-9]+)?(:share=[0-9.]+)?$ ]]; then
		echo "ingest-compare: config \"$c\": want TREE[:nice=N][:procs=P][:share=S] (TREE: this or a git revision)" >&2
		exit 2
	fi
done
for c in "$@"; do
	tree=${c%%:*}
	[ -n "${bins[$tree]:-}" ] || bins[$tree]=$(binary "$tree")
done
summary=$out/summary.txt
echo "# $(date -u +%FT%TZ) rounds=$rounds configs=$* head=$(git rev-parse --short HEAD)" | tee -a "$summary"
for round in $(seq "$rounds"); do
	for c in "$@"; do
		tree=${c%%:*}
		envs=()
		[[ "$c" =~ :nice=([0-9]+) ]] && envs+=("LRKIT_LOAD_INGEST_NICE=${BASH_REMATCH[1]}")
		[[ "$c" =~ :procs=([0-9]+) ]] && envs+=("GOMAXPROCS=${BASH_REMATCH[1]}")
		[[ "$c" =~ :share=([0-9.]+) ]] && envs+=("LRKIT_LOAD_INGEST_SHARE=${BASH_REMATCH[1]}")
		name=${c//[:=]/-}
		for b in 50 64; do
			log=$out/$name-r$round-b$b.log
			run "$log" "${envs[@]}" LRKIT_LOAD=ceiling LRKIT_CEILING_ROUNDS=1 LRKIT_CEILING_SECS=6 LRKIT_CEILING_BATCH=$b \
				"${bins[$tree]}" -test.run '^TestLoadCeiling$' -test.v
			echo "$c round $round, $b-record batches: saturation $(grep -o 'saturation lrkit POST.*' "$log" | grep -o '([ 0-9]* items/s)');" \
				"paced 2,000/s: $(grep -E 'POST metrics, [0-9]+ records +2000/s' "$log" | grep -o 'achieved.*p99 *[0-9.µm]*s' | tr -s ' ');" \
				"rate/bare $(grep -o 'rate route / bare handler per round: \[[0-9.]*\]' "$log" | grep -o '[0-9.]*\]' | tr -d ']') (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$summary"
		done
		log=$out/$name-r$round-mixed.log
		run "$log" "${envs[@]}" LRKIT_LOAD=full "${bins[$tree]}" -test.run '^TestLoad$' -test.v
		echo "$c round $round, mixed: $(grep 'round 1, lrkit:' "$log" | grep -o 'LR requests [0-9]* ([0-9]*/s) p50 [0-9.µm]*s p99 [0-9.µm]*s');" \
			"$(grep 'round 1, lrkit:' "$log" | grep -o 'metric batches [0-9]* ([0-9]*/s, [0-9]* records/s) p50 [0-9.µm]*s p99 [0-9.µm]*s');" \
			"bare LR $(grep 'round 1, bare' "$log" | grep -o 'p99 [0-9.µm]*s' | head -1) (load $(cut -d' ' -f1-3 /proc/loadavg))" | tee -a "$summary"
	done
done
