"""lrkit.Schedule against the lrkit CLI: the same rates, bit for bit, and
the same positioned errors."""

import array
import json
import pickle
import threading
import unittest

import support  # noqa: F401  (puts the package on sys.path)
from support import lrkit, lrkit_values

import lrkit as lk
from lrkit.runlog import format_float

# Warm-ups from 0, budget-aware decays, composition, periodic schedules,
# a table: a dozen and more kinds of the spec language.
SPECS = [
    "warmup(cosine(peak=0.1, steps=1000), steps=100)",
    "wsd(peak=3e-4, steps=1000, warmup=50, decay=0.2, shape=1-sqrt)",
    "wsd(peak=1e-3, steps=1000, warmup=0.05, decay=0.1, shape=cosine, floor=1e-5)",
    "linear(peak=0.5, steps=1000)",
    "warmup(linear(peak=2e-3, floor=2e-4, steps=900), steps=100, shape=linear)",
    "onecycle(peak=0.4, steps=1000)",
    "invsqrt(peak=1e-3, warmup=100)",
    "sgdr(peak=0.1, floor=1e-4, period=100, mult=2)",
    "cyclic(low=1e-4, high=1e-2, up=150, mode=triangular2)",
    "multistep(peak=0.1, milestones=[300, 600, 900], gamma=0.1)",
    "exp_decay(peak=0.01, rate=0.5, every=200, staircase=true)",
    "rex(peak=1e-3, steps=1000)",
    "join([warmup(constant(peak=0.01), steps=20), cosine(peak=0.01, steps=980)], at=[20])",
    "table(at=[0, 100, 1000], lr=[0, 0.1, 0.001])",
    "polynomial(peak=0.1, steps=1000, power=2)",
    "warmup(cosine(peak=1, steps=1000), shape=untuned_exp, beta2=0.99)",
]

STEPS = [0, 1, 2, 3, 49, 50, 51, 99, 100, 101, 250, 499, 500, 777, 899, 900, 901, 999, 1000, 1001, 5000,
         10 ** 12, 2 ** 63 - 1]


class ValuesTest(unittest.TestCase):
    def test_same_rates_as_cli(self):
        for spec in SPECS:
            with self.subTest(spec=spec):
                want = lrkit_values(spec, STEPS)
                s = lk.Schedule(spec)
                got = s.values(STEPS)
                self.assertEqual(got, [v for _, v, _ in want])
                self.assertEqual([s.lr(t) for t in STEPS], got)
                # The run-log writer prints floats as the CLI does.
                self.assertEqual([format_float(v) for v in got], [text for _, _, text in want])

    def test_dense_range_same_as_cli(self):
        spec = SPECS[0]
        _, out, _ = lrkit("values", spec, "--every", "1", "--steps", "1101")  # updates 0..1100
        rows = [line.split(",") for line in out.splitlines()[1:]]
        self.assertEqual([int(r[0]) for r in rows], list(range(1101)))
        want = [float(r[1]) for r in rows]
        s = lk.Schedule(spec)
        self.assertEqual(s.values(range(1101)), want)
        self.assertEqual(s.values(range(1100, -1, -1)), want[::-1])
        self.assertEqual(s.values(range(0, 1101, 7)), want[::7])

    def test_parity(self):
        spec = "warmup(cosine(peak=0.1, steps=100), steps=10)"
        steps = [0, 5, 10, 60, 110, 150, 200]
        for parity in ("pytorch", "hf", "none"):
            with self.subTest(parity=parity):
                want = [v for _, v, _ in lrkit_values(spec, steps, parity=parity)]
                s = lk.Schedule(spec, parity=parity)
                self.assertEqual(s.values(steps), want)
        # pytorch's cosine keeps following the curve past its end; lrkit's holds the floor.
        self.assertNotEqual(lk.Schedule(spec, parity="pytorch").lr(160), lk.Schedule(spec).lr(160))
        self.assertEqual(lk.Schedule(spec).lr(160), 0.0)

    def test_step_containers(self):
        s = lk.Schedule(SPECS[1])
        want = [s.lr(t) for t in range(0, 1200, 3)]
        self.assertEqual(s.values(list(range(0, 1200, 3))), want)
        self.assertEqual(s.values(t for t in range(0, 1200, 3)), want)
        self.assertEqual(s.values(array.array("q", range(0, 1200, 3))), want)
        self.assertEqual(s.values(array.array("i", range(0, 1200, 3))), want)  # 4-byte ints: copied
        self.assertEqual(s.values(range(0)), [])
        self.assertEqual(s.values([]), [])
        try:
            import numpy as np
        except ImportError:
            return
        self.assertEqual(s.values(np.arange(0, 1200, 3)), want)
        self.assertEqual(s.values(np.arange(0, 1200, 3, dtype=np.int32)), want)
        self.assertEqual(s.values(np.arange(0, 2400, 3)[::2]), [s.lr(t) for t in range(0, 2400, 6)])  # strided

    def test_bad_steps(self):
        s = lk.Schedule("constant(peak=0.1)")
        for steps, err, msg in [
            (-1, ValueError, "step -1 is negative (steps count from 0)"),
            (2 ** 63, ValueError, "step 9223372036854775808 is larger than 2**63-1"),
            (1.5, TypeError, "step: want a whole number of steps, got 1.5"),
            ("3", TypeError, "step: want a whole number of steps, got '3'"),
        ]:
            with self.subTest(steps=steps):
                with self.assertRaises(err) as c:
                    s.lr(steps)
                self.assertEqual(str(c.exception), msg)
        for steps, err, msg in [
            ([0, 5, -2], ValueError, "steps: step -2 is negative (steps count from 0)"),
            ([0, 2 ** 64], ValueError, "steps: step 18446744073709551616 is larger than 2**63-1"),
            (range(-3, 5), ValueError, "steps: step -3 is negative (steps count from 0)"),
            (range(2 ** 63 - 2, 2 ** 63 + 1), ValueError, "steps: step 9223372036854775808 is larger than 2**63-1"),
            ([0.5], TypeError, "steps: want whole numbers of steps ('float' object cannot be interpreted as an "
                               "integer)"),
        ]:
            with self.subTest(steps=steps):
                with self.assertRaises(err) as c:
                    s.values(steps)
                self.assertEqual(str(c.exception), msg)

    def test_threads(self):
        s = lk.Schedule(SPECS[0])
        want = s.values(range(5000))
        got = [None] * 4

        def work(i):
            got[i] = s.values(range(5000))

        ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(got, [want] * 4)


class SpecTest(unittest.TestCase):
    def test_canonical_and_json_round_trip(self):
        for spec in SPECS:
            with self.subTest(spec=spec):
                s = lk.Schedule(spec)
                self.assertEqual(lk.Schedule(s.canonical), s)
                self.assertEqual(lk.Schedule(s.canonical).canonical, s.canonical)
                js = s.to_json()
                self.assertEqual(lk.Schedule(js), s)  # JSON text
                self.assertEqual(lk.Schedule(json.loads(js)), s)  # a dict
                self.assertEqual(pickle.loads(pickle.dumps(s)), s)
                self.assertEqual(str(s), s.canonical)
                self.assertEqual(repr(s), "Schedule(%r)" % s.canonical)
        self.assertEqual(lk.Schedule("cosine( steps = 10 ,peak=1)").canonical, "cosine(steps=10)")
        self.assertEqual(lk.Schedule("warmup(cosine(steps=100), steps=10)", parity="pytorch").canonical,
                         "warmup(cosine(steps=100, parity=pytorch), steps=10)")

    def test_errors_are_the_cli_errors(self):
        bad = [
            "cosine(peek=0.1, steps=10)",
            "cosin(steps=10)",
            "cosine(steps=10",
            "cosine(steps=0.5)",
            "wsd(peak=1, steps=100, decay=2.5)",
            "warmup(cosine(peak=1, steps=100), steps=-1)",
            "join([constant(peak=1), constant(peak=2)], at=[])",
            "cosine(peak=1,\n  stepz=10)",
            'cosine(peak="a", steps=10)',
            "",
            '{"kind":"cosine","steps":0.5}',
            '{"kind":"cosine","steps":10,"peek":1}',
            # Controllers: they need a training loop or the server.
            "plateau(base=cosine(peak=0.1, steps=100))",
            "warmup(hd(base=constant()), steps=10)",
            '{"kind":"autolrs","base":{"kind":"constant"}}',
        ]
        for spec in bad:
            with self.subTest(spec=spec):
                code, out, err = lrkit("values", spec, "--at", "0", check=False)
                self.assertEqual(code, 2, err)
                self.assertTrue(err.startswith("lrkit: "), err)
                want = err[len("lrkit: "):].rstrip("\n")
                with self.assertRaises(ValueError) as c:
                    lk.Schedule(spec)
                self.assertEqual(str(c.exception), want)

    def test_positioned_message(self):
        with self.assertRaises(ValueError) as c:
            lk.Schedule("wsd(peak=3e-4, peek=1, steps=10)")
        self.assertEqual(str(c.exception), 'spec:1:16: unknown parameter "peek" for wsd (did you mean "peak"?)')
        with self.assertRaises(ValueError) as c:
            lk.Schedule("cosine(peak=1, steps=10)\x00junk")
        self.assertRegex(str(c.exception), r"^spec:1:25: ")

    def test_controller_spec(self):
        # A controller offline gets the CLI's message, at the same position,
        # not "unknown schedule": it learns from the run, so only a trainer
        # or the server can drive it.
        why = ("is a controller (it learns from the run) and cannot stand here, where a schedule (a pure "
               "function of the step) is wanted; a trainer or the server takes it as the whole spec")
        for spec, want in [
            ("plateau(base=cosine(peak=0.1, steps=100), factor=0.5)", "spec:1:1: plateau " + why),
            ("  adam_hd(base=constant(peak=1e-3))", "spec:1:3: adam_hd " + why),
            ({"kind": "hd", "base": {"kind": "constant"}}, "$: hd " + why),
            ("join([constant(), plateau(base=constant())], at=[5])",
             "spec:1:19: plateau is a controller (it learns from the run) and cannot stand inside another "
             "schedule; a trainer or the server takes it as the whole spec"),
        ]:
            with self.subTest(spec=spec):
                with self.assertRaises(ValueError) as c:
                    lk.Schedule(spec)
                self.assertEqual(str(c.exception), want)

    def test_parity_errors(self):
        with self.assertRaises(ValueError) as c:
            lk.Schedule("cosine(steps=10)", parity="pytorh")
        self.assertEqual(str(c.exception), 'parity: unknown parity "pytorh" (did you mean "pytorch"?): want one of '
                                           'hf, none, optax, pytorch')
        code, _, err = lrkit("values", "cosine(steps=10)", "--at", "0", "--parity", "pytorh", check=False)
        self.assertEqual(err.strip(), "lrkit: --" + str(c.exception))
        with self.assertRaises(ValueError):
            lk.Schedule("cosine(steps=10)", parity="")
        with self.assertRaises(TypeError):
            lk.Schedule(42)



def load_tests(loader, tests, ignore):
    # The examples in lrkit.schedule's documentation are tests too.
    import doctest

    import lrkit.schedule
    tests.addTests(doctest.DocTestSuite(lrkit.schedule))
    return tests


if __name__ == "__main__":
    unittest.main()
