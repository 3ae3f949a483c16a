#!/usr/bin/env bash
# Scaling laws (docs/papers.md §3): fits a Chinchilla law per procedure to
# the EPFL model-size sweep (cosine runs, constant-rate runs plus 20%
# cooldowns, constant runs without cooldown), with bootstrap intervals and
# a held-out largest size, and compares each with the cosine law; writes
# docs/papers/scaling.md and its figures, and reassembles docs/papers.md.
# Then the same on kjv-gpt at four widths trained here (cmd/papers
# kjv-scaling, resumable; about 30 minutes on a loaded 2-core machine).
# Needs ../shared/data/losscurves/epfml (or EPFML=DIR) and the KJV text.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${EPFML:-../shared/data/losscurves/epfml}
tags=""
if [ -e /usr/include/x86_64-linux-gnu/cblas.h ]; then tags="-tags openblas"; fi
mkdir -p bin docs/papers
go build $tags -o bin/lrkit-papers ./cmd/lrkit
go build $tags -o bin/papers-kjv ./cmd/papers
OPENBLAS_NUM_THREADS=1 nice -n 10 ./bin/papers-kjv kjv-scaling -out out/papers/kjv-scaling
kjv=(./bin/lrkit-papers scaling --points out/papers/kjv-scaling/points.csv --reference cosine --cooldown wsd=0.2 --cooldown constant=0 --boot 200 --holdout 1 --svg docs/papers/kjv)
cmd=(./bin/lrkit-papers scaling --epfl "$data" --reference cosine --cooldown wsd=0.2 --cooldown constant=0 --boot 200 --holdout 1 --svg docs/papers)
{
	echo "## 3. Scaling laws: two procedures, and constant-rate runs plus cooldowns"
	echo
	echo "Produced by \`scripts/papers-scaling.sh\`:"
	echo "\`lrkit scaling --epfl shared/data/losscurves/epfml --reference cosine --cooldown wsd=0.2 --cooldown constant=0 --boot 200 --holdout 1\`."
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
	echo "**The LAION-style form** on the same points: L(C) = E + A·C^-alpha fitted to each group's compute frontier"
	echo "(\`--form compute\`), the form the CLIP/MaMMUT comparison fits per procedure."
	echo
	OPENBLAS_NUM_THREADS=1 nice -n 10 "${cmd[@]}" --form compute --svg docs/papers/compute 2>/dev/null
	echo "![laws, compute form](papers/compute/scaling-laws.svg)"
	echo
	echo "### kjv-gpt at four widths"
	echo
	echo "\`papers kjv-scaling\` trains the character-level transformer (2 layers, context 64, batch 16, so 1,024"
	echo "tokens per step) at widths 32, 48, 64 and 96 for 300, 600 and 1,200 steps, each length as a cosine run"
	echo "(5% warmup, to 0.1 of the peak) and as a WSD run (5% warmup, linear cooldown to 0 over the last 20%); each"
	echo "procedure's peak was chosen at width 64 and 300 steps on a separate seed from {1e-3, 2e-3, 4e-3}, doubled"
	echo "past the top while the top won (out/papers/kjv-scaling/d64/*-s100.csv holds every peak tried). The"
	echo "constant group is the longest WSD run's validation loss before its cooldown. Then"
	echo "\`lrkit scaling --points out/papers/kjv-scaling/points.csv --reference cosine --cooldown wsd=0.2 --cooldown constant=0 --boot 200 --holdout 1\`."
	echo "Here the WSD runs were trained separately rather than branched from one constant run (same seed, so the"
	echo "same result); the compute column counts them as branches."
	echo
	OPENBLAS_NUM_THREADS=1 nice -n 10 "${kjv[@]}" 2>/dev/null
	echo "![laws](papers/kjv/scaling-laws.svg)"
	echo
	echo "![difference](papers/kjv/scaling-diff.svg)"
	echo
	echo "What this scale cannot test: the EPFL sweep spans 33M–360M parameters and at most 5B tokens, about one"
	echo "decade of model size, so a five-parameter law is weakly identified (wide intervals on E, A and alpha) and"
	echo "extrapolation 100x past the largest run is mostly the bootstrap's width. The kjv sweep spans 3x in width"
	echo "with tiny models and one seed per run; its laws describe this toy setting, not language-model pretraining."
	echo "A procedure comparison in the LAION style needs several orders of magnitude of compute per procedure."
	echo
} > docs/papers/scaling.md.part
mv docs/papers/scaling.md.part docs/papers/scaling.md
scripts/papers-assemble.sh
