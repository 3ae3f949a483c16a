#!/usr/bin/env bash
# Screenshots of three figures as a browser shows them (Debian's chromium,
# headless), for docs/figures.md: a schedule plot, a run-log plot and a
# predict plot, each made by the README's own commands. Rerun after a
# change to package plot:
#
#   scripts/screenshots.sh
#
# Needs chromium (scripts/setup.sh test installs it). Takes about a minute
# (a 600-step mnist-mlp run for the run-log plot).
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
command -v "$go" >/dev/null || go=/usr/local/go/bin/go
chromium=$(command -v chromium || command -v chromium-browser)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$go" build -o "$work/lrkit" ./cmd/lrkit
lrkit=$work/lrkit
out=docs/img
mkdir -p "$out"

"$lrkit" plot 'wsd(peak=3e-4, steps=10000, warmup=500, decay=0.2, shape=1-sqrt)' \
	'warmup(cosine(peak=3e-4, steps=10000), steps=500)' 'warmup(linear(peak=3e-4, steps=10000), steps=500)' -o "$work/schedule.svg"
"$lrkit" train --workload mnist-mlp --schedule 'warmup(linear(steps=600), steps=30)' --steps 600 --log "$work/run.csv" >/dev/null
"$lrkit" plot "$work/run.csv" -o "$work/run.svg"
"$lrkit" fit --law mpl examples/curves/constant-60m.csv examples/curves/cosine-60m.csv -o "$work/law.json" >/dev/null
"$lrkit" predict --law "$work/law.json" examples/curves/wsd-60m.csv --plot "$work/predict.svg" >/dev/null

# Each SVG in a page of its own size, so the screenshot is the figure as
# a browser lays it out (fonts, legend, axes), nothing else.
shot() { # shot NAME WIDTH HEIGHT
	cat >"$work/$1.html" <<HTML
<!doctype html><meta charset="utf-8"><style>html,body{margin:0;background:#fff}img{display:block}</style>
<img src="$1.svg" width="$2" height="$3">
HTML
	"$chromium" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$work/profile" \
		--window-size="$2,$3" --screenshot="$out/$1.png" "file://$work/$1.html" 2>/dev/null
	echo "wrote $out/$1.png"
}
size() { # the SVG's width and height in pixels (points × 4/3)
	sed -n 's/.*<svg[^>]* width="\([0-9.]*\)\(pt\)\{0,1\}" height="\([0-9.]*\)\(pt\)\{0,1\}".*/\1 \3 \2/p' "$work/$1.svg" | head -1 |
		awk '{f = ($3 == "pt") ? 4/3 : 1; printf "%d %d\n", $1*f+0.5, $2*f+0.5}'
}
for name in schedule run predict; do
	read -r w h < <(size "$name")
	shot "$name" "$w" "$h"
done
