"""examples/train_torch.py, the command-workload example: settings from
LRKIT_* environment variables, an lrkit run log out."""

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from support import PKG

import lrkit as lk

SCRIPT = os.path.join(PKG, "examples", "train_torch.py")


def run(env, cwd):
    e = {k: v for k, v in os.environ.items() if not k.startswith("LRKIT_") or k == "LRKIT_LIBRARY"}
    e.update(env)
    return subprocess.run([sys.executable, SCRIPT], env=e, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


class ExampleTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lrkit-example-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_two_schedules_two_seeds(self):
        specs = ["warmup(cosine(peak=0.1, steps=60), steps=6)", "wsd(peak=0.1, steps=60, warmup=6, decay=0.2)"]
        logs = {}
        for i, spec in enumerate(specs):
            for seed in (1, 2):
                path = os.path.join(self.tmp, "s%d-seed%d.csv" % (i, seed))
                r = run({"LRKIT_SPEC": spec, "LRKIT_PEAK": "0.1", "LRKIT_SEED": str(seed), "LRKIT_STEPS": "60",
                         "LRKIT_RUNLOG": path, "LRKIT_EVAL_EVERY": "6"}, self.tmp)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "train_torch: 60 steps of %s, seed %d: %s\n" % (
                    lk.Schedule(spec), seed, path))
                recs = read_csv(path)
                logs[i, seed] = recs
                self.assertEqual(list(recs[0]), ["step", "lr", "loss", "grad_norm", "grad_norm_l1", "val_loss",
                                                 "val_metric", "examples_seen", "wall_seconds"])
                self.assertEqual([int(r["step"]) for r in recs], list(range(60)))
                self.assertEqual([float(r["lr"]) for r in recs], lk.Schedule(spec).values(range(60)))
                self.assertEqual([int(r["examples_seen"]) for r in recs], [64 * (t + 1) for t in range(60)])
                evals = [int(r["step"]) for r in recs if r["val_metric"]]
                self.assertEqual(evals, list(range(5, 60, 6)))
                self.assertEqual(evals, [int(r["step"]) for r in recs if r["val_loss"]])
                walls = [float(r["wall_seconds"]) for r in recs]
                self.assertEqual(walls, sorted(walls))
                self.assertGreater(walls[0], 0)
                for r in recs:
                    self.assertGreater(float(r["grad_norm_l1"]), float(r["grad_norm"]))
                # It learns: validation accuracy well above chance (1/4).
                self.assertGreater(float(recs[-1]["val_metric"]), 0.5)
                self.assertLess(float(recs[-1]["val_loss"]), float(recs[evals[0]]["val_loss"]))

        def strip(recs):
            return [{k: v for k, v in r.items() if k != "wall_seconds"} for r in recs]
        # Same seed, same spec: the same run again; other seeds differ.
        r = run({"LRKIT_SPEC": specs[0], "LRKIT_SEED": "1", "LRKIT_STEPS": "60", "LRKIT_EVAL_EVERY": "6",
                 "LRKIT_RUNLOG": os.path.join(self.tmp, "again.csv")}, self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(strip(read_csv(os.path.join(self.tmp, "again.csv"))), strip(logs[0, 1]))
        self.assertNotEqual(strip(logs[0, 1]), strip(logs[0, 2]))
        self.assertNotEqual(strip(logs[0, 1]), strip(logs[1, 1]))

    def test_jsonl_and_default_eval(self):
        path = os.path.join(self.tmp, "run.jsonl")
        r = run({"LRKIT_SPEC": "linear(peak=0.05, steps=25)", "LRKIT_STEPS": "25", "LRKIT_RUNLOG": path}, self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(path) as f:
            recs = [json.loads(line) for line in f]
        self.assertEqual(len(recs), 25)
        self.assertEqual([x["step"] for x in recs if "val_metric" in x], [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                                                           23, 24])

    def test_bad_settings(self):
        ok = {"LRKIT_SPEC": "cosine(peak=0.1, steps=10)", "LRKIT_STEPS": "10",
              "LRKIT_RUNLOG": os.path.join(self.tmp, "x.csv")}
        for change, msg in [
            ({"LRKIT_SPEC": ""}, "LRKIT_SPEC is not set: want a schedule spec, e.g. 'cosine(peak=0.1, steps=300)'"),
            ({"LRKIT_SPEC": "cosine(peek=0.1, steps=10)"},
             'LRKIT_SPEC: spec:1:8: unknown parameter "peek" for cosine (did you mean "peak"?)'),
            ({"LRKIT_STEPS": ""}, "LRKIT_STEPS is not set: want a whole number >= 1"),
            ({"LRKIT_STEPS": "ten"}, "LRKIT_STEPS='ten': want a whole number >= 1"),
            ({"LRKIT_STEPS": "0"}, "LRKIT_STEPS=0: want a whole number >= 1"),
            ({"LRKIT_SEED": "-1"}, "LRKIT_SEED=-1: want a whole number >= 0"),
            ({"LRKIT_RUNLOG": ""}, "LRKIT_RUNLOG is not set: want the path of the run log to write (.csv or .jsonl)"),
            ({"LRKIT_RUNLOG": os.path.join(self.tmp, "x.txt")},
             "LRKIT_RUNLOG: %s: unknown run-log format: want a .csv, .jsonl or .ndjson file" % os.path.join(
                 self.tmp, "x.txt")),
            ({"LRKIT_PEAK": "0.05"}, "LRKIT_SPEC reaches 0.1, above LRKIT_PEAK=0.05: the spec and the peak disagree"),
            ({"LRKIT_PEAK": "nan"}, "LRKIT_PEAK='nan': want a rate > 0"),
        ]:
            with self.subTest(change=change):
                r = run(dict(ok, **change), self.tmp)
                self.assertEqual((r.returncode, r.stderr), (2, "train_torch: " + msg + "\n"))


if __name__ == "__main__":
    unittest.main()
