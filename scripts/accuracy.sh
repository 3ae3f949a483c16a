#!/bin/sh
# Regenerates docs/accuracy.md and its figures from the shared EPFL loss
# curves (about an hour on two cores), and docs/accuracy-paper.md when
# MPL_CURVES names a folder holding the multi-power law paper's curves
# (csv_25, csv_100, csv_400 from thu-yao-01-luo/MultiPowerLaw's
# loss_curve_repo; they are not part of lrkit).
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
go build -o bin/accuracy ./cmd/accuracy
nice -n 10 bin/accuracy -o docs/accuracy.md -figures docs/accuracy
if [ -n "${MPL_CURVES:-}" ]; then
	nice -n 10 bin/accuracy -paper "$MPL_CURVES" -o docs/accuracy-paper.md
fi
