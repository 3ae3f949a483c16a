#!/bin/sh
# A stand-in training script for bench's command-workload tests: it reads
# the trial from LRKIT_* variables like a real one and writes a JSON Lines
# run log whose final validation accuracy peaks at LRKIT_PEAK = 0.1 and
# grows with the steps, so a tuning grid has an interior optimum. With
# FAKE_FAIL set it fails the way a broken script does.
set -eu
if [ -n "${FAKE_FAIL:-}" ]; then
	echo "fake_train: $FAKE_FAIL" >&2
	exit 3
fi
: "${LRKIT_SPEC:?}" "${LRKIT_PEAK:?}" "${LRKIT_SEED:?}" "${LRKIT_STEPS:?}" "${LRKIT_RUNLOG:?}" "${LRKIT_EVAL_EVERY:?}"
awk -v peak="$LRKIT_PEAK" -v seed="$LRKIT_SEED" -v steps="$LRKIT_STEPS" -v every="$LRKIT_EVAL_EVERY" 'BEGIN {
	d = log(peak / 0.1) / log(10)
	for (k = 0; k < steps; k++) {
		loss = 2 / (1 + k / 10) + d * d
		line = sprintf("{\"step\":%d,\"lr\":%.6g,\"loss\":%.6g,\"wall_seconds\":%.6g", k, peak, loss, 0.001 * (k + 1))
		if ((k + 1) % every == 0 || k == steps - 1) {
			acc = 0.9 * (k + 1) / steps - 0.2 * d * d + 0.001 * (seed % 7)
			line = line sprintf(",\"val_loss\":%.6g,\"val_metric\":%.6g", loss, acc)
		}
		print line "}"
	}
}' >"$LRKIT_RUNLOG"
