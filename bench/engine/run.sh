#!/usr/bin/env bash
# Side-by-side engine benchmark: the same models (mnist-mlp, kjv-gpt) in
# lrkit's pure-Go build, lrkit's OpenBLAS build (when libopenblas-dev is
# installed) and PyTorch from Debian, one after another in each round, with
# a table of steps/s and peak RSS and their ratios to PyTorch.
#
#   bench/engine/run.sh                      # mnist-mlp:128 mnist-mlp:32 kjv-gpt:32
#   ROUNDS=3 bench/engine/run.sh kjv-gpt:32  # chosen cases, 3 interleaved rounds
#   BASELINE=main ROUNDS=2 bench/engine/run.sh   # also the builds of git ref main
#
# Environment: ROUNDS (default 1; the table shows the median steps/s and
# the largest RSS over rounds), MLP_STEPS (200), GPT_STEPS (10), WARMUP
# (5), OUT (a directory for results.jsonl; default a temporary one),
# TORCH_THREADS (2), BASELINE (a git ref whose builds run in the same
# rounds, labelled with the ref, for before/after tables).
# PyTorch runs as the issue prescribes: /usr/bin/python3 with
# OPENBLAS_NUM_THREADS=1 and torch.set_num_threads(2). lrkit runs with its
# defaults (GOMAXPROCS = the cores; OpenBLAS's own thread count).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."
export PATH=/usr/local/go/bin:$PATH
rounds=${ROUNDS:-1}
mlp_steps=${MLP_STEPS:-200}
gpt_steps=${GPT_STEPS:-10}
warmup=${WARMUP:-5}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
out=$(cd "$out" && pwd) # absolute: the builds run in other directories
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(mnist-mlp:128 mnist-mlp:32 kjv-gpt:32)

have_blas=0
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ] || [ -e /usr/include/openblas/cblas.h ]; then
  have_blas=1
else
  echo "engine: libopenblas-dev is not installed; skipping the OpenBLAS build" >&2
fi

# build LABEL DIR: the pure-Go and (when possible) OpenBLAS binaries of the
# source tree DIR as $out/engine-LABEL-go and $out/engine-LABEL-openblas.
# The driver is cmd/enginebench (bench/engine before it moved there).
impls=()
build() {
  local label=$1 dir=$2 pkg=./cmd/enginebench
  [ -d "$dir/cmd/enginebench" ] || pkg=./bench/engine
  (cd "$dir" && go build -o "$out/engine-$label-go" "$pkg")
  impls+=("$label-go")
  if [ $have_blas = 1 ]; then
    (cd "$dir" && go build -tags openblas -o "$out/engine-$label-openblas" "$pkg")
    impls+=("$label-openblas")
  fi
}
if [ -n "${BASELINE:-}" ]; then
  base_label=$(echo "$BASELINE" | tr -c 'A-Za-z0-9._\n' '-')
  base_src="$out/src-$base_label"
  rm -rf "$base_src" && mkdir -p "$base_src"
  git archive "$BASELINE" | tar -x -C "$base_src"
  echo "engine: baseline $BASELINE is $(git rev-parse --short "$BASELINE")" >&2
  build "$base_label" "$base_src"
fi
build lrkit .
have_torch=1
/usr/bin/python3 -c 'import torch' 2>/dev/null || { have_torch=0; echo "engine: python3-torch is not installed (apt-get install python3-torch); skipping PyTorch" >&2; }

res="$out/results.jsonl"
: > "$res"
echo "engine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); results in $res" >&2
for r in $(seq 1 "$rounds"); do
  for c in "${cases[@]}"; do
    model=${c%%:*}
    batch=${c##*:}
    steps=$mlp_steps
    [ "$model" = kjv-gpt ] && steps=$gpt_steps
    vocab=""
    for impl in "${impls[@]}"; do
      echo "engine: round $r $model batch $batch $impl" >&2
      line=$("$out/engine-$impl" --model "$model" --batch "$batch" --steps "$steps" --warmup "$warmup")
      # The label replaces the binary's own impl (lrkit-<Backend()>), which
      # would not tell the baseline's build from this tree's; the backend is
      # kept as a field of its own.
      line=$(echo "$line" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); r["backend"]=r["impl"]; r["impl"]=sys.argv[1]; print(json.dumps(r))' "$impl")
      echo "$line" >> "$res"
      v=$(echo "$line" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("vocab",""))')
      [ -n "$v" ] && vocab=$v
    done
    if [ $have_torch = 1 ]; then
      echo "engine: round $r $model batch $batch pytorch" >&2
      OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "$here/torch_models.py" --model "$model" --batch "$batch" \
        --steps "$steps" --warmup "$warmup" --threads "${TORCH_THREADS:-2}" ${vocab:+--vocab "$vocab"} >> "$res"
    fi
  done
done
echo "engine: load average after the run $(cut -d' ' -f1-3 /proc/loadavg)" >&2

/usr/bin/python3 - "$res" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = {}
for r in rows:
    impl = "pytorch" if r["impl"].startswith("pytorch") else r["impl"]
    groups.setdefault((r["model"], r["batch"]), {}).setdefault(impl, []).append(r)
print(f'{"model":<10} {"batch":>5} {"impl":<18} {"params":>8} {"steps/s":>9} {"peak RSS MB":>11} {"speed vs torch":>14} {"memory vs torch":>15}')
for (model, batch), by in groups.items():
    torch = by.get("pytorch")
    ts = statistics.median(r["steps_per_s"] for r in torch) if torch else None
    tm = max(r["peak_rss_mb"] for r in torch) if torch else None
    for impl, rs in by.items():
        s = statistics.median(r["steps_per_s"] for r in rs)
        m = max(r["peak_rss_mb"] for r in rs)
        sr = f"{s / ts:.2f}x" if ts else "-"
        mr = f"{m / tm:.2f}x" if tm else "-"
        print(f'{model:<10} {batch:>5} {impl:<18} {rs[0]["params"]:>8} {s:>9.2f} {m:>11.1f} {sr:>14} {mr:>15}')
PY
