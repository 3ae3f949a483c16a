"""lrkit.torch.Scheduler with Debian's torch: the rates of `lrkit values`
exactly, resume from state_dict, per-group peaks, the no-argument step()
that Hugging Face's Trainer and Lightning call, and remote mode against a
real `lrkit serve` (metrics in, controller decisions and actions out).

These tests FAIL, not skip, when torch is missing: they are the proof
that the scheduler works with torch (scripts/setup.sh test installs
python3-torch)."""

import io
import json
import math
import os
import shutil
import tempfile
import unittest
import warnings

import support  # noqa: F401
from support import Server, lrkit

import lrkit as lk

try:
    import torch
except ImportError as e:  # reported as a failure by every test class below
    torch, TORCH_ERROR = None, e

from test_schedule import SPECS


def cli_rates(spec, n):
    """The rates of updates 0..n-1, from `lrkit values SPEC --every 1 --steps n`."""
    _, out, _ = lrkit("values", spec, "--every", "1", "--steps", str(n))
    rows = [line.split(",") for line in out.splitlines()[1:]]
    assert [int(r[0]) for r in rows] == list(range(n)), out[:200]
    return [float(r[1]) for r in rows]


class TorchCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if torch is None:
            raise AssertionError("torch is not importable (%s): install python3-torch (scripts/setup.sh test)"
                                 % TORCH_ERROR)
        import lrkit.torch  # noqa: F401
        cls.lt = lk.torch

    def model(self, seed=0, groups=1):
        torch.manual_seed(seed)
        m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        return m

    def batch(self, t):
        g = torch.Generator().manual_seed(1000 + t)
        x = torch.randn(16, 4, generator=g)
        return x, x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1


class ExactRatesTest(TorchCase):
    def test_base_class(self):
        from torch.optim import lr_scheduler
        base = getattr(lr_scheduler, "LRScheduler", None) or lr_scheduler._LRScheduler
        self.assertIs(self.lt.BASE, base)
        self.assertTrue(issubclass(self.lt.Scheduler, lr_scheduler._LRScheduler))
        if torch.__version__.startswith("1."):
            self.assertFalse(hasattr(lr_scheduler, "LRScheduler"))

    def test_rates_are_lrkit_values(self):
        # 16 specs, warm-ups from 0 among them: the lr the optimizer holds
        # at each update is lrkit's rate of that step, exactly.
        n = 1100
        for spec in SPECS:
            with self.subTest(spec=spec):
                want = cli_rates(spec, n)
                p = torch.nn.Parameter(torch.zeros(2))
                opt = torch.optim.SGD([p], lr=123.0)
                sched = self.lt.Scheduler(opt, spec)
                got = []
                for t in range(n):
                    got.append(opt.param_groups[0]["lr"])
                    self.assertEqual(sched.get_last_lr(), [got[-1]])
                    p.grad = torch.ones(2)
                    opt.step()
                    sched.step()
                self.assertEqual(got, want)
                self.assertEqual(sched.last_epoch, n)
        self.assertEqual(cli_rates(SPECS[0], 2), [0.0, 0.001])  # the warm-up starts at 0

    def test_training_uses_the_rates(self):
        # SGD without momentum: each update is exactly -lr * grad, so the
        # rate the update used is the one lrkit gives for that step.
        spec = "wsd(peak=0.05, steps=40, warmup=10, decay=0.3)"
        m = self.model()
        opt = torch.optim.SGD(m.parameters(), lr=0.0)
        sched = self.lt.Scheduler(opt, spec)
        want = lk.Schedule(spec).values(range(40))
        for t in range(40):
            x, y = self.batch(t)
            loss = ((m(x) - y) ** 2).mean()
            loss.backward()
            w = m[0].weight.detach().clone()
            g = m[0].weight.grad.detach().clone()
            opt.step()
            self.assertTrue(torch.equal(m[0].weight.detach(), w.add(g, alpha=-want[t])), t)
            sched.step(loss=loss)
            opt.zero_grad()


class ResumeTest(TorchCase):
    SPEC = "warmup(wsd(peak=0.02, steps=50, decay=0.2, shape=1-sqrt), steps=10)"

    def train(self, m, opt, sched, steps, lrs, skip_at=()):
        for t in steps:
            x, y = self.batch(t)
            loss = ((m(x) - y) ** 2).mean()
            loss.backward()
            lrs.append(opt.param_groups[0]["lr"])
            if t in skip_at:  # an overflow: GradScaler skips optimizer.step()
                sched.step()
                lrs.pop()
            else:
                opt.step()
                sched.step(loss=loss.item())
            opt.zero_grad()

    def test_resume_continues_identically(self):
        steps = list(range(60))
        m = self.model()
        opt = torch.optim.Adam(m.parameters(), lr=1.0)
        sched = self.lt.Scheduler(opt, self.SPEC)
        straight = []
        self.train(m, opt, sched, steps, straight, skip_at={7})
        self.assertEqual(sched.skipped, 1)
        self.assertEqual(sched.last_epoch, 59)

        m2 = self.model()
        opt2 = torch.optim.Adam(m2.parameters(), lr=1.0)
        sched2 = self.lt.Scheduler(opt2, self.SPEC)
        resumed = []
        self.train(m2, opt2, sched2, steps[:25], resumed, skip_at={7})
        buf = io.BytesIO()
        torch.save({"model": m2.state_dict(), "opt": opt2.state_dict(), "sched": sched2.state_dict()}, buf)
        self.assertEqual(sched2.state_dict()["last_epoch"], 24)
        self.assertEqual(json.loads(json.dumps(sched2.state_dict())), sched2.state_dict())  # plain values

        buf.seek(0)
        ck = torch.load(buf)
        m3 = self.model(seed=99)  # other initial weights: the checkpoint replaces them
        opt3 = torch.optim.Adam(m3.parameters(), lr=1.0)
        sched3 = self.lt.Scheduler(opt3, self.SPEC)
        m3.load_state_dict(ck["model"])
        opt3.load_state_dict(ck["opt"])
        sched3.load_state_dict(ck["sched"])
        self.assertEqual(sched3.last_epoch, 24)
        self.assertEqual(sched3.skipped, 1)
        self.assertEqual(opt3.param_groups[0]["lr"], lk.Schedule(self.SPEC).lr(24))
        self.train(m3, opt3, sched3, steps[25:], resumed)
        self.assertEqual(resumed, straight)
        for a, b in zip(m.parameters(), m3.parameters()):
            self.assertTrue(torch.equal(a, b))

    def test_load_checks_the_spec(self):
        p = torch.nn.Parameter(torch.zeros(1))
        a = self.lt.Scheduler(torch.optim.SGD([p], lr=1.0), "cosine(peak=0.1, steps=100)")
        b_opt = torch.optim.SGD([p], lr=1.0)
        b = self.lt.Scheduler(b_opt, "linear(peak=0.1, steps=100)")
        with self.assertRaises(ValueError) as c:
            b.load_state_dict(a.state_dict())
        self.assertEqual(str(c.exception), "state_dict: saved with spec cosine(peak=0.1, steps=100), this scheduler "
                                           "has linear(peak=0.1, steps=100) (pass allow_spec_change=True to continue "
                                           "the step count under the new spec)")
        st = dict(a.state_dict(), last_epoch=40)
        b.load_state_dict(st, allow_spec_change=True)
        self.assertEqual(b_opt.param_groups[0]["lr"], lk.Schedule("linear(peak=0.1, steps=100)").lr(40))
        with self.assertRaises(ValueError) as c:
            b.load_state_dict({"last_epoch": 3, "base_lrs": [1.0]})  # a torch scheduler's state
        self.assertEqual(str(c.exception), "state_dict: not an lrkit.torch.Scheduler state (lrkit_state=None, "
                                           "want 1)")


class GroupsTest(TorchCase):
    def opt(self, lrs=(1e-3, 1e-4)):
        a, b = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
        return torch.optim.SGD([{"params": [a], "lr": lrs[0]}, {"params": [b], "lr": lrs[1]}], lr=0.5)

    def run_steps(self, opt, sched, n):
        out = []
        for _ in range(n):
            out.append([g["lr"] for g in opt.param_groups])
            opt.step()
            sched.step()
        return out

    def test_peaks(self):
        shape = "warmup(cosine(peak=1, steps=100), steps=10)"
        rates = lk.Schedule(shape).values(range(100))
        opt = self.opt()
        got = self.run_steps(opt, self.lt.Scheduler(opt, shape, peaks=[3e-4, 2.0]), 100)
        self.assertEqual(got, [[3e-4 * r, 2.0 * r] for r in rates])
        opt = self.opt()
        got = self.run_steps(opt, self.lt.Scheduler(opt, shape, peaks="initial"), 100)
        self.assertEqual(got, [[1e-3 * r, 1e-4 * r] for r in rates])

    def test_initial_peaks_after_optimizer_resume(self):
        # Resuming with the optimizer's state loaded before the scheduler is
        # built: the groups' lr are the saved step's rates, their
        # initial_lr the lr they were built with (as torch keeps it).
        shape = "warmup(cosine(peak=1, steps=100), steps=10)"
        opt = self.opt()
        sched = self.lt.Scheduler(opt, shape, peaks="initial")
        straight = self.run_steps(opt, sched, 60)
        opt = self.opt()
        sched = self.lt.Scheduler(opt, shape, peaks="initial")
        resumed = self.run_steps(opt, sched, 25)
        ck = {"opt": opt.state_dict(), "sched": sched.state_dict()}
        opt = self.opt()
        opt.load_state_dict(ck["opt"])
        sched = self.lt.Scheduler(opt, shape, peaks="initial")
        self.assertEqual(sched.peaks, [1e-3, 1e-4])
        sched.load_state_dict(ck["sched"])
        resumed += self.run_steps(opt, sched, 35)
        self.assertEqual(resumed, straight)

    def test_spec_per_group(self):
        specs = ["cosine(peak=0.1, steps=50)", "wsd(peak=0.01, steps=50, warmup=5)"]
        opt = self.opt()
        got = self.run_steps(opt, self.lt.Scheduler(opt, specs), 60)
        a, b = (lk.Schedule(s).values(range(60)) for s in specs)
        self.assertEqual(got, [list(p) for p in zip(a, b)])

    def test_bad_arguments(self):
        opt = self.opt()
        for kw, err, msg in [
            ({"spec": "cosine(steps=10)", "peaks": [1.0]}, ValueError, "peaks: 1 values for 2 parameter groups"),
            ({"spec": "cosine(steps=10)", "peaks": [1.0, -1.0]}, ValueError, "peaks[1]: -1.0, want a finite rate > 0"),
            ({"spec": ["cosine(steps=10)"]}, ValueError, "spec: 1 specs for 2 parameter groups"),
            ({"spec": None}, ValueError, "spec: give a schedule spec (or a client and a run for remote mode)"),
            ({"spec": "cosine(steps=10)", "count": "epochs"}, ValueError,
             "count: 'epochs', want \"optimizer\" or \"calls\""),
            ({"spec": "cosine(stepz=10)"}, ValueError,
             'spec:1:8: unknown parameter "stepz" for cosine (did you mean "steps"?)'),
            ({"spec": "cosine(steps=10)", "run": "x"}, ValueError,
             "run: a run needs a client (lrkit.LrkitClient(url, token))"),
        ]:
            with self.subTest(kw=kw):
                with self.assertRaises(err) as c:
                    self.lt.Scheduler(opt, **kw)
                self.assertEqual(str(c.exception), msg)


class NoArgumentStepTest(TorchCase):
    """The calls Hugging Face's Trainer and Lightning make: after each
    optimizer update, scheduler.step() with no argument; get_last_lr() for
    logging; state_dict() into the checkpoint. Metrics come from observe()
    (a training_step override or a callback) and grad_norms=True."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lrkit-torch-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_trainer_loop(self):
        spec = "warmup(linear(peak=0.05, steps=30), steps=5)"
        log_path = os.path.join(self.tmp, "run.jsonl")
        m = self.model()
        opt = torch.optim.SGD(m.parameters(), lr=0.0, momentum=0.9)
        with lk.RunLog(log_path) as log:
            sched = self.lt.Scheduler(opt, spec, log=log, grad_norms=True)
            accum, logged, norms, losses = 3, [], [], []
            micro = []
            for it in range(35 * accum):
                x, y = self.batch(it)
                loss = ((m(x) - y) ** 2).mean()
                (loss / accum).backward()
                sched.observe(loss=loss.detach())  # a tensor: read at step()
                micro.append(loss.item())
                if (it + 1) % accum:
                    continue
                l2 = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in m.parameters()))
                l1 = sum(float(p.grad.double().abs().sum()) for p in m.parameters())
                norms.append((l2, l1))
                losses.append(sum(micro) / len(micro))
                micro = []
                opt.step()
                sched.step()  # what the Trainer calls
                logged.append(sched.get_last_lr()[0])
                opt.zero_grad()
            sched.close()
        rates = lk.Schedule(spec).values(range(36))
        self.assertEqual(logged, rates[1:36])
        with open(log_path) as f:
            recs = [json.loads(line) for line in f]
        self.assertEqual([r["step"] for r in recs], list(range(35)))
        self.assertEqual([r["lr"] for r in recs], rates[:35])
        for r, (l2, l1), loss in zip(recs, norms, losses):
            self.assertAlmostEqual(r["grad_norm"], l2, delta=1e-12 * l2)
            self.assertAlmostEqual(r["grad_norm_l1"], l1, delta=1e-12 * l1)
            self.assertAlmostEqual(r["loss"], loss, places=12)
        self.assertLess(recs[-1]["loss"], recs[0]["loss"])

    def test_skipped_and_counted_calls(self):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1.0)
        sched = self.lt.Scheduler(opt, "linear(peak=1, steps=10)")
        opt.step()
        sched.step()
        sched.step(loss=5.0)  # no optimizer.step() since: skipped, metrics dropped
        self.assertEqual((sched.last_epoch, sched.skipped), (1, 1))
        self.assertEqual(opt.param_groups[0]["lr"], 0.9)
        calls = self.lt.Scheduler(torch.optim.SGD([p], lr=1.0), "linear(peak=1, steps=10)", count="calls")
        with self.assertWarnsRegex(UserWarning, r"before `optimizer\.step\(\)`"):  # as torch's schedulers warn
            for _ in range(3):
                calls.step()
        self.assertEqual((calls.last_epoch, calls.skipped), (3, 0))
        self.assertEqual(calls.get_last_lr(), [0.7])

    def test_wrong_order_warns_with_counted_calls(self):
        # torch's schedulers warn when step() comes before the first
        # optimizer.step(): with count="calls" the first rate is then never
        # used. Counting updates, the same order is a skipped step and the
        # rates stay right, so there is nothing to warn about.
        p = torch.nn.Parameter(torch.zeros(1))
        for count, order, want in [("calls", "wrong", 1), ("calls", "right", 0), ("optimizer", "wrong", 0)]:
            with self.subTest(count=count, order=order):
                opt = torch.optim.SGD([p], lr=1.0)
                sched = self.lt.Scheduler(opt, "linear(peak=1, steps=10)", count=count)
                with warnings.catch_warnings(record=True) as w:
                    warnings.simplefilter("always")
                    used = []
                    for _ in range(4):
                        if order == "wrong":
                            sched.step()
                        used.append(opt.param_groups[0]["lr"])
                        opt.step()
                        if order == "right":
                            sched.step()
                msgs = [str(x.message) for x in w if "before `optimizer.step()`" in str(x.message)]
                self.assertEqual(len(msgs), want, msgs)
                if want:
                    self.assertEqual(used, [0.9, 0.8, 0.7, 0.6])  # 1.0, step 0's rate, skipped
                else:
                    self.assertEqual(used, [1.0, 0.9, 0.8, 0.7])

    def test_sequential_lr(self):
        # SequentialLR moves each scheduler's last_epoch back by one and
        # calls the first one's _initial_step(), as a scheduler's own
        # __init__ does: the first rate is the spec's step 0, not the
        # optimizer's initial lr, and the steps are not shifted.
        spec = "warmup(linear(peak=1, steps=10), steps=4)"
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.25)
        first = self.lt.Scheduler(opt, spec)
        then = torch.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SequentialLR's own step(0) deprecation warning
            seq = torch.optim.lr_scheduler.SequentialLR(opt, [first, then], milestones=[8])
            used = []
            for _ in range(8):
                used.append(opt.param_groups[0]["lr"])
                opt.step()
                seq.step()
        self.assertEqual(used, lk.Schedule(spec).values(range(8)))
        self.assertEqual(first.last_epoch, 7)  # the 8th step went to the next scheduler

    def test_observe_errors_and_late_metrics(self):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=1.0)
        sched = self.lt.Scheduler(opt, "constant(peak=0.1)")
        for kw, msg in [
            ({"los": 1.0}, "observe: unknown metric 'los' (want one of loss, grad_norm, grad_norm_l1, param_norm, "
                           "update_norm, effective_lr, val_loss, val_metric, examples_seen, wall_seconds)"),
            ({"lr": 1.0}, "observe: lr is the scheduler's own; it is recorded with every step"),
            ({"loss": torch.ones(2)}, "want a single value, got a tensor of shape (2,)"),
        ]:
            with self.subTest(kw=kw):
                with self.assertRaises(ValueError) as c:
                    sched.observe(**kw)
                self.assertEqual(str(c.exception), msg)
        sched.observe(val_loss=1.0)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            sched.close()
        self.assertEqual([str(x.message) for x in w], [
            "lrkit: metrics observed after the last step() were not recorded: call observe() before step()"])

    def test_grad_norms_helper(self):
        m = self.model()
        self.assertEqual(self.lt.grad_norms(m), (None, None))
        x, y = self.batch(0)
        ((m(x) - y) ** 2).mean().backward()
        grads = torch.cat([p.grad.double().flatten() for p in m.parameters()])
        l2, l1 = self.lt.grad_norms(m)
        self.assertAlmostEqual(l2, float(grads.norm()), delta=1e-12 * l2)
        self.assertAlmostEqual(l1, float(grads.abs().sum()), delta=1e-12 * l1)
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        self.assertEqual(self.lt.grad_norms(opt), (l2, l1))
        self.assertEqual(self.lt.grad_norms(list(m.parameters())), (l2, l1))


class RemoteTest(TorchCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.srv = Server().start()
        cls.client = lk.LrkitClient(cls.srv.url, cls.srv.token)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def loop(self, m, opt, sched, steps, start=0):
        lrs = []
        for t in range(start, start + steps):
            x, y = self.batch(t)
            loss = ((m(x) - y) ** 2).mean()
            loss.backward()
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.observe(loss=loss)
            sched.step()
            opt.zero_grad()
        return lrs

    def test_rates_and_metrics(self):
        spec = "warmup(cosine(peak=0.05, steps=100), steps=10)"
        m = self.model()
        opt = torch.optim.SGD(m.parameters(), lr=0.0)
        sched = self.lt.Scheduler(opt, spec, client=self.client, run="remote-metrics", budget=100, block=32,
                                  grad_norms=True, flush_every=16)
        lrs = self.loop(m, opt, sched, 100)
        self.assertTrue(sched.close())
        self.assertEqual(lrs, lk.Schedule(spec).values(range(100)))  # the server's rates are lrkit's
        ms = self.client.metrics(sched.run_id)
        self.assertEqual([r["step"] for r in ms], list(range(100)))
        self.assertEqual([r["lr"] for r in ms], lrs)
        for r in ms:
            self.assertGreater(r["grad_norm"], 0)
            self.assertGreaterEqual(r["grad_norm_l1"], r["grad_norm"])
        self.assertLess(ms[-1]["loss"], ms[0]["loss"])
        run = self.client.run(sched.run_id)
        self.assertEqual(run["last_step"], 99)

    def test_decay_action_reaches_the_job(self):
        m = self.model()
        opt = torch.optim.SGD(m.parameters(), lr=0.0)
        sched = self.lt.Scheduler(opt, "constant(peak=0.02)", client=self.client, run="remote-decay", budget=1000,
                                  refresh=0.0, flush_every=1)
        self.loop(m, opt, sched, 10)
        self.assertTrue(sched.flush())
        self.client.request("POST", "/v1/runs/%d/actions/decay" % sched.run_id, {"steps": 10})
        lrs = self.loop(m, opt, sched, 15, start=10)
        self.assertTrue(sched.close())
        self.assertEqual(lrs[0], 0.02)  # step 10: the decay starts here
        self.assertEqual(lrs[5], 0.01)  # halfway down (linear)
        self.assertEqual(lrs[10:], [0.0] * 5)
        kinds = [e["kind"] for e in self.client.events(sched.run_id)]
        self.assertIn("decay", kinds)

    def test_controller_decides_from_reported_loss(self):
        # A plateau controller on the training loss: the reported losses
        # stop improving, the server halves the rate, the job follows.
        spec = "plateau(base=constant(peak=0.04), metric=loss, patience=2, factor=0.5)"
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.0)
        sched = self.lt.Scheduler(opt, spec, client=self.client, run="remote-plateau", budget=100, refresh=0.0,
                                  flush_every=1)
        lrs = []
        for t in range(12):
            lrs.append(opt.param_groups[0]["lr"])
            p.grad = torch.zeros(1)
            opt.step()
            sched.step(loss=1.0)  # never improves
            self.assertTrue(sched.flush())
        sched.close()
        # Records 0..3: best at 0, bad 1, 2, 3 > patience: halved after step 3.
        self.assertEqual(lrs[:4], [0.04] * 4)
        self.assertEqual(lrs[4], 0.02)
        self.assertLess(lrs[-1], 0.02)
        self.assertIn("controller", [e["kind"] for e in self.client.events(sched.run_id)])

    def test_existing_run(self):
        spec = "cosine(peak=0.1, steps=100)"
        run = self.client.create_run("remote-exists", spec, 100)
        # Another spelling of the same spec finds it; another spec is an error naming both.
        self.assertEqual(self.client.create_run("remote-exists", "cosine( steps=100,peak=0.1 )", 100)["id"], run["id"])
        with self.assertRaises(lk.SpecMismatchError) as c:
            self.client.create_run("remote-exists", "cosine(peak=0.2, steps=100)", 100)
        self.assertEqual(str(c.exception), "lrkit: run 'remote-exists' (id %d) exists with spec cosine(peak=0.1, "
                                           "steps=100), not the spec given, cosine(peak=0.2, steps=100): use another "
                                           "run name, or the run's spec" % run["id"])
        self.assertEqual(c.exception.status, 409)
        with self.assertRaises(lk.LrkitError) as c:
            self.client.create_run("remote-exists", spec, 100, exist_ok=False)
        self.assertEqual(c.exception.status, 409)
        # After an action rewrote the spec, the job restarting with its
        # original spec still finds its run.
        self.client.request("POST", "/v1/runs/%d/actions/decay" % run["id"], {"steps": 10, "at": 20})
        self.assertNotEqual(self.client.run(run["id"])["spec"], spec)
        self.assertEqual(self.client.create_run("remote-exists", spec, 100)["id"], run["id"])
        # By ID, with or without the spec.
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
        s = self.lt.Scheduler(opt, client=self.client, run=run["id"])
        self.assertEqual(s.run_id, run["id"])
        self.assertEqual(s.rate(19), lk.Schedule(spec).lr(19))
        self.assertEqual(s.rate(30), 0.0)  # decayed over steps 20..30
        s.close()
        with self.assertRaises(ValueError) as c:
            self.lt.Scheduler(opt, "linear(peak=1, steps=10)", client=self.client, run=run["id"])
        self.assertEqual(str(c.exception), "spec: run %d was created with spec %s, not linear(peak=1, steps=10)" % (
            run["id"], spec))

    def test_resume_remote(self):
        spec = "linear(peak=0.1, steps=40)"
        m = self.model()
        opt = torch.optim.SGD(m.parameters(), lr=0.0)
        a = self.lt.Scheduler(opt, spec, client=self.client, run="remote-resume", budget=40)
        first = self.loop(m, opt, a, 15)
        st = a.state_dict()
        self.assertTrue(a.close())
        self.assertEqual(st["run_id"], a.run_id)
        opt2 = torch.optim.SGD(m.parameters(), lr=0.0)
        b = self.lt.Scheduler(opt2, spec, client=self.client, run="remote-resume", budget=40)  # the job restarts
        b.load_state_dict(st)
        rest = self.loop(m, opt2, b, 25, start=15)
        self.assertTrue(b.close())
        self.assertEqual(first + rest, lk.Schedule(spec).values(range(40)))
        self.assertEqual([r["step"] for r in self.client.metrics(a.run_id)], list(range(40)))
        other = self.lt.Scheduler(torch.optim.SGD(m.parameters(), lr=0.0), spec, client=self.client,
                                  run="remote-other", budget=40)
        with self.assertRaises(ValueError) as c:
            other.load_state_dict(st)
        self.assertEqual(str(c.exception), "state_dict: saved from run %d, this scheduler drives run %d (pass "
                                           "allow_spec_change=True to continue anyway)" % (a.run_id, other.run_id))
        other.close()


if __name__ == "__main__":
    unittest.main()
