#!/usr/bin/env bash
# Scaling laws (docs/papers.md §3): fits a Chinchilla law per procedure to
# the EPFL model-size sweep (cosine runs, constant-rate runs plus 20%
# cooldowns, constant runs without cooldown), with bootstrap intervals and
# a held-out largest size, and compares each with the cosine law; writes
# docs/papers/scaling.md and its figures, and reassembles docs/papers.md.
# Needs ../shared/data/losscurves/epfml (or EPFML=DIR). About 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${EPFML:-../shared/data/losscurves/epfml}
tags=""
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ]; then tags="-tags openblas"; fi
mkdir -p bin docs/papers
go build $tags -o bin/lrkit-papers ./cmd/lrkit
cmd=(./bin/lrkit-papers scaling --epfl "$data" --reference cosine --cooldown wsd=0.2 --boot 200 --holdout 1 --svg docs/papers)
{
	echo "## 3. Scaling laws: two procedures, and constant-rate runs plus cooldowns"
	echo
	echo "Produced by \`scripts/papers-scaling.sh\`:"
	echo "\`lrkit scaling --epfl shared/data/losscurves/epfml --reference cosine --cooldown wsd=0.2 --boot 200 --holdout 1\`."
	echo "Data: the Hägele et al. (2024) SlimPajama sweep in the EPFL collection, 8 Llama-style models from 33M to 360M"
	echo "parameters (embeddings included). **cosine**: a full cosine run (to 10% of the peak) for each of 3 durations"
	echo "per size; **wsd**: one constant-rate run per size with a linear cooldown over the last 20% branched off at"
	echo "2 durations (the procedure that needs one long run instead of one per duration); **constant**: the"
	echo "constant-rate run's validation loss at the cosine durations with no cooldown at all (a 32-batch estimate,"
	echo "where the other two use the full validation set). The procedures' peaks differ (cosine 2x the constant"
	echo "rate's), as the authors configured them. 'Compute of the runs' counts what producing each group's points"
	echo "cost: every cosine duration is its own run; a wsd size costs its constant run plus the cooldowns."
	echo
	OPENBLAS_NUM_THREADS=1 nice -n 10 "${cmd[@]}" 2>/dev/null
	echo "![laws](papers/scaling-laws.svg)"
	echo
	echo "![difference](papers/scaling-diff.svg)"
	echo
} > docs/papers/scaling.md.part
mv docs/papers/scaling.md.part docs/papers/scaling.md
scripts/papers-assemble.sh
