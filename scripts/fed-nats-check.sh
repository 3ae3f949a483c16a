#!/usr/bin/env bash
# Runs fed/studies/smoke.yaml twice: once with the clients simulated in
# this process, once with their local rounds done by two separate
# `lrkit fed client` processes over NATS JetStream (an embedded server),
# and checks that every run's history is the same bit for bit.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
go build -o out/lrkit-fed-check ./cmd/lrkit
rm -rf out/fed/smoke-local out/fed/smoke-nats
out/lrkit-fed-check fed run fed/studies/smoke.yaml --output out/fed/smoke-local --quiet >/dev/null
log=$(mktemp)
out/lrkit-fed-check fed run fed/studies/smoke.yaml --output out/fed/smoke-nats --nats embedded --quiet >/dev/null 2>"$log" &
run=$!
url=""
for _ in $(seq 300); do
  url=$(sed -n 's/.*--nats \(nats:[^ ]*\).*/\1/p' "$log" | head -1)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; echo "fed-nats-check: no NATS URL from lrkit fed run" >&2; exit 1; }
out/lrkit-fed-check fed client --nats "$url" 2>/dev/null & c1=$!
out/lrkit-fed-check fed client --nats "$url" 2>/dev/null & c2=$!
trap 'kill $c1 $c2 2>/dev/null || true' EXIT
wait $run
/usr/bin/python3 - <<'PY'
import glob, json, os, sys
local = sorted(glob.glob("out/fed/smoke-local/runs/*.json"))
bad = 0
for f in local:
    g = f.replace("smoke-local", "smoke-nats")
    a, b = json.load(open(f))["history"], json.load(open(g))["history"]
    if a != b:
        bad += 1
        print("differs:", os.path.basename(f))
print(f"fed-nats-check: {len(local) - bad} of {len(local)} runs identical in process and over NATS")
sys.exit(1 if bad else 0)
PY
