#!/usr/bin/env bash
# Regenerates the comparison tables of docs/control.md: mnist-mlp, 600 steps,
# seeds 1-3, every method at peak 1e-3, and linear vs refined at peak 3e-3;
# kjv-gpt, 250 steps, seeds 1-3, every method at the workload's peak 2e-3.
# Takes about 65 minutes on two cores (OpenBLAS build when libopenblas-dev
# is installed). Usage: scripts/control-table.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tags=()
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/openblas/cblas.h ]; then
	tags=(-tags openblas)
fi
go build "${tags[@]}" -o "$tmp/controltable" ./cmd/controltable
"$tmp/controltable" -workload mnist-mlp -steps 600 -seeds 1,2,3 -out "$tmp/all.md"
"$tmp/controltable" -workload mnist-mlp -steps 600 -seeds 1,2,3 -peak 0.003 \
	-only "refined from linear (L1)" -out "$tmp/peak3.md"
"$tmp/controltable" -workload kjv-gpt -steps 250 -seeds 1,2,3 -out "$tmp/kjv.md"
{
	cat "$tmp/all.md"
	echo
	echo "Linear decay and refinement at a second peak rate:"
	echo
	cat "$tmp/peak3.md"
	echo
	cat "$tmp/kjv.md"
} > "$tmp/table.md"
awk -v table="$tmp/table.md" '
	/<!-- table:begin -->/ { print; while ((getline line < table) > 0) print line; skip = 1; next }
	/<!-- table:end -->/ { skip = 0 }
	!skip { print }
' docs/control.md > "$tmp/control.md"
mv "$tmp/control.md" docs/control.md
echo "updated docs/control.md"
