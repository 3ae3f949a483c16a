"""lrkit.RunLog: lrkit's CSV and JSONL run logs. The Go test
cmd/libschedule TestPythonRunLog checks the same files byte for byte
against Go's own writers and reads them back with package runlog."""

import json
import math
import os
import shutil
import tempfile
import unittest

import support  # noqa: F401
from support import lrkit

from lrkit.runlog import FIELDS, RunLog, format_float


class FormatTest(unittest.TestCase):
    def test_go_g_format(self):
        # Go's strconv.FormatFloat(v, 'g', -1, 64): %e form below 1e-4 and from 1e6 on.
        for v, want in [
            (0.0, "0"), (-0.0, "-0"), (1.0, "1"), (-2.5, "-2.5"), (0.1, "0.1"), (0.0001, "0.0001"),
            (0.00001, "1e-05"), (1.5e-05, "1.5e-05"), (123456.0, "123456"), (999999.0, "999999"),
            (1000000.0, "1e+06"), (1234567.0, "1.234567e+06"), (1e21, "1e+21"), (1e100, "1e+100"),
            (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.020000000000000004, "0.020000000000000004"), (3e-4, "0.0003"), (100.5, "100.5"),
            (float("nan"), "NaN"), (float("inf"), "+Inf"), (float("-inf"), "-Inf"),
        ]:
            with self.subTest(v=v):
                self.assertEqual(format_float(v), want)
                if math.isfinite(v):
                    self.assertEqual(float(want), v)

    def test_cli_agrees(self):
        # Rates printed by `lrkit values` (FormatFloat 'g' -1) of a schedule
        # spanning many magnitudes.
        _, out, _ = lrkit("values", "exponential(peak=3e7, gamma=0.5)", "--every", "3", "--steps", "150")
        for line in out.splitlines()[1:]:
            text = line.split(",")[1]
            self.assertEqual(format_float(float(text)), text)


class WriterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lrkit-runlog-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def test_csv(self):
        with RunLog(self.path("a.csv"), fields=["loss", "lr", "val_metric", "examples_seen"]) as log:
            log.write(0, lr=0.0, loss=2.5)
            log.write(1, lr=1e-05, loss=float("nan"), examples_seen=64)
            log.write(5, lr=2e6, val_metric=0.75, loss=None)
            log.write_record({"step": 9, "loss": float("inf"), "examples_seen": 640.0})
        self.assertEqual(self.read("a.csv"), "step,lr,loss,val_metric,examples_seen\n"
                                             "0,0,2.5,,\n"
                                             "1,1e-05,NaN,,64\n"
                                             "5,2e+06,,0.75,\n"
                                             "9,,+Inf,,640\n")
        self.assertTrue(log.closed)
        log.close()  # harmless

    def test_csv_default_columns_and_empty(self):
        RunLog(self.path("e.csv")).close()
        self.assertEqual(self.read("e.csv"), "step," + ",".join(FIELDS) + "\n")

    def test_jsonl(self):
        log = RunLog(self.path("a.jsonl"), wall_clock=True)
        log.write(0, loss=2.5, lr=0.1, grad_norm=float("-inf"))
        log.write(3, val_loss=float("nan"), wall_seconds=12.0)
        log.close()
        lines = self.read("a.jsonl").splitlines()
        first = json.loads(lines[0])
        self.assertEqual(list(first), ["step", "lr", "loss", "grad_norm", "wall_seconds"])  # lrkit's order
        self.assertEqual(first["grad_norm"], "-Infinity")
        self.assertGreaterEqual(first["wall_seconds"], 0)
        self.assertLess(first["wall_seconds"], 60)
        self.assertEqual(lines[1], '{"step":3,"val_loss":"NaN","wall_seconds":12}')

    def test_errors(self):
        log = RunLog(self.path("b.csv"), fields=["lr", "loss"])
        log.write(3, lr=0.1)
        for args, kw, err, msg in [
            ((3,), {"lr": 0.1}, ValueError, "step 3 is not after the previous step 3: steps must increase"),
            ((2,), {}, ValueError, "step 2 is not after the previous step 3: steps must increase"),
            ((-1,), {}, ValueError, "record step -1 is negative"),
            ((4,), {"grad_norm": 1.0}, ValueError, "record at step 4 has grad_norm, which this CSV log has no "
                                                  "column for (its columns are step,lr,loss)"),
            ((4,), {"learning_rate": 1.0}, ValueError, "record at step 4: unknown field 'learning_rate' (did you "
                                                       "mean \"lr\"?); the fields are " + ", ".join(FIELDS)),
            ((4,), {"los": 1.0}, ValueError, "record at step 4: unknown field 'los' (did you mean \"loss\"?); the "
                                             "fields are " + ", ".join(FIELDS)),
            ((4,), {"loss": "high"}, TypeError, "record at step 4: loss 'high' is not a number"),
            ((4.0,), {}, TypeError, "step: want a whole number, got 4.0"),
        ]:
            with self.subTest(args=args, kw=kw):
                with self.assertRaises(err) as c:
                    log.write(*args, **kw)
                self.assertEqual(str(c.exception), self.path("b.csv") + ": " + msg)
        log.write(4, loss=1.0)
        log.close()
        with self.assertRaises(ValueError):
            log.write(5, loss=1.0)
        self.assertEqual(self.read("b.csv"), "step,lr,loss\n3,0.1,\n4,,1\n")
        with self.assertRaises(ValueError) as c:
            RunLog(self.path("x.txt"))
        self.assertEqual(str(c.exception), self.path("x.txt") + ": unknown run-log format: want a .csv, .jsonl or "
                                                               ".ndjson file")
        with self.assertRaises(ValueError) as c:
            RunLog(self.path("x.csv"), fields=["lr", "gradnorm"])
        self.assertEqual(str(c.exception), "fields: unknown field 'gradnorm' (did you mean \"grad_norm\"?); the "
                                           "fields are " + ", ".join(FIELDS))
        with RunLog(self.path("y.jsonl")) as y, self.assertRaises(ValueError) as c:
            y.write(0, examples_seen=1.5)
        self.assertEqual(str(c.exception), self.path("y.jsonl") + ": record at step 0: examples_seen 1.5 is not a "
                                                                 "whole number")

    def test_lrkit_reads_it(self):
        # lrkit refine reads the log's gradient norms back (package runlog).
        with RunLog(self.path("r.csv"), fields=["lr", "loss", "grad_norm"]) as log:
            for t in range(200):
                log.write(t, lr=0.1, loss=1.0 / (t + 1), grad_norm=1.0 + math.sin(t / 10.0) ** 2)
        code, out, err = lrkit("refine", self.path("r.csv"), "--peak", "0.1", check=False)
        self.assertEqual(code, 0, err)
        rows = out.splitlines()
        self.assertEqual(rows[0], "step,lr")
        self.assertEqual(len(rows), 201)


if __name__ == "__main__":
    unittest.main()
