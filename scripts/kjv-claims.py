#!/usr/bin/env python3
"""Per-budget comparisons of the kjv-gpt-small study (bench/studies/kjv.yaml)
for docs/results.md: for every schedule and budget, the final validation
loss of its evaluation runs against cosine's, paired by evaluation seed,
with a 95% t-interval of the mean difference; and the training compute
each entry needs to serve both budgets.

    python3 scripts/kjv-claims.py out/bench/kjv/results.csv

Reads the report's results.csv (one row per trial); standard library only.
A negative difference is a lower (better) loss than cosine's. "holds"
means the interval lies below 0 by itself (better), "matches" that it lies
within the margin of +-0.5% of cosine's loss, "worse" that it lies above 0,
"inconclusive" otherwise.
"""

import csv
import math
import statistics
import sys
from collections import defaultdict

# Two-sided 95% quantiles of Student's t for small samples (df = n - 1).
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}
MARGIN = 0.005  # relative: within 0.5% of cosine's loss counts as matching


def main(path):
    final = defaultdict(dict)  # (schedule, steps) -> seed -> final loss
    for row in csv.DictReader(open(path)):
        if row["role"] != "eval" or row["status"] != "done":
            continue
        v = float(row["final_metric"]) if row["final_metric"] not in ("", "NaN", "null") else math.nan
        final[(row["schedule"], int(row["steps"]))][int(row["seed"])] = v
    budgets = sorted({b for _, b in final})
    schedules = sorted({s for s, _ in final}, key=lambda s: (s != "cosine", s))
    print("| schedule | steps | final loss (mean of seeds) | minus cosine's [95% interval] | verdict |")
    print("|---|---|---|---|---|")
    for b in budgets:
        base = final.get(("cosine", b), {})
        for s in schedules:
            runs = final.get((s, b))
            if not runs:
                continue
            mean = statistics.fmean(runs.values())
            if s == "cosine":
                print("| cosine | %d | %.4f | (baseline) | |" % (b, mean))
                continue
            seeds = sorted(set(runs) & set(base))
            d = [runs[k] - base[k] for k in seeds]
            if len(d) < 2 or any(math.isnan(x) for x in d):
                print("| %s | %d | %.4f | n/a | inconclusive |" % (s, b, mean))
                continue
            m, sd = statistics.fmean(d), statistics.stdev(d)
            h = T95.get(len(d) - 1, 1.96) * sd / math.sqrt(len(d))
            lo, hi = m - h, m + h
            ref = statistics.fmean(base[k] for k in seeds)
            if hi < 0:
                verdict = "lower (better)"
            elif lo > 0:
                verdict = "higher (worse)"
            elif -MARGIN * ref < lo and hi < MARGIN * ref:
                verdict = "matches (within 0.5%)"
            else:
                verdict = "inconclusive"
            print("| %s | %d | %.4f | %+.4f [%+.4f, %+.4f] | %s |" % (s, b, mean, m, lo, hi, verdict))
    print()
    # Compute to serve every budget, per evaluation seed: separate runs
    # for cosine and the others; one run to the largest budget plus the
    # other budgets' cooldowns (the last 20% of each) for wsd-one-run;
    # one run for wsd-s.
    top = max(budgets)
    sep = sum(budgets)
    one = top + sum(0.2 * b for b in budgets if b != top)
    print("Training steps to serve the budgets %s per seed: separate runs %d; "
          "wsd-one-run %d (%.0f%%); wsd-s %d (%.0f%%)." % (
              ", ".join(str(b) for b in budgets), sep, one, 100 * one / sep, top, 100 * top / sep))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: kjv-claims.py results.csv")
    main(sys.argv[1])
