"""Tests of lrkit.client (src/lrkit/client.py) against a real ``lrkit serve``.

LRKIT_BIN names the lrkit binary (the Go test TestPythonClient sets it);
without it the binary is built with ``go build``. Run:
    /usr/bin/python3 -m unittest -v test_lrkit_client
"""

import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "src"))
from lrkit.client import LrkitClient, LrkitError, LrkitScheduler  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def lrkit_bin(tmp):
    b = os.environ.get("LRKIT_BIN")
    if b:
        return b
    b = os.path.join(tmp, "lrkit")
    subprocess.run(["go", "build", "-o", b, "./cmd/lrkit"], cwd=os.path.join(HERE, "..", ".."), check=True)
    return b


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real lrkit serve process on a fixed port and database."""

    def __init__(self, binary, db, port):
        self.binary, self.db, self.port = binary, db, port
        self.url = "http://127.0.0.1:%d" % port
        self.proc = None
        self.token = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve", "--addr", "127.0.0.1:%d" % self.port, "--db", self.db],
                                     stderr=subprocess.PIPE, text=True)
        while True:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("lrkit serve exited")
            m = re.search(r"\(shown once\): (\S+)", line)
            if m:
                self.token = m.group(1)
            if "listening on" in line:
                break
        self.drain = threading.Thread(target=self.proc.stderr.read, daemon=True)
        self.drain.start()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(15)
        self.drain.join(15)  # the pipe is at its end once the process exited
        self.proc.stderr.close()


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.bin = lrkit_bin(cls.tmp)
        cls.srv = Server(cls.bin, os.path.join(cls.tmp, "lrkit.db"), free_port())
        cls.srv.start()
        cls.client = LrkitClient(cls.srv.url, cls.srv.token)

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_rates_cached_in_blocks(self):
        run = self.client.create_run("cos", "cosine(peak=0.1, floor=0.01, steps=1000)", 1000)
        s = LrkitScheduler(self.client, run["id"], block=256)
        before = self.client.requests
        for t in range(1000):
            want = 0.01 + 0.09 * (1 + math.cos(math.pi * t / 1000)) / 2
            self.assertAlmostEqual(s.rate(t), want, places=15)
        self.assertLessEqual(self.client.requests - before, 4)  # 4 blocks of 256
        self.assertAlmostEqual(s.multiplier(500), s.rate(500) / 0.1)
        self.assertTrue(s.close())

    def test_skipped_steps_and_metrics(self):
        run = self.client.create_run("skip", "linear(peak=1, steps=100)", 100)
        s = LrkitScheduler(self.client, run["id"], flush_every=8)
        for i in range(20):
            s.step(loss=3.0 - i / 100)
            if i % 5 == 0:
                s.step(skipped=True, loss=99.0)
        self.assertEqual(s.step_count, 20)
        self.assertEqual(s.skipped, 4)
        s.step(loss=float("nan"))  # a non-finite value is dropped, the step counts
        self.assertTrue(s.close())
        ms = self.client.metrics(run["id"])
        self.assertEqual([m["step"] for m in ms], list(range(21)))
        self.assertNotIn(99.0, [m.get("loss") for m in ms])
        self.assertNotIn("loss", ms[20])
        for m in ms:
            self.assertAlmostEqual(m["lr"], 1 - m["step"] / 100)

    def test_errors(self):
        with self.assertRaises(LrkitError) as c:
            self.client.create_run("bad", "cosin(steps=10)", 10)
        self.assertEqual(c.exception.status, 400)
        self.assertIn('did you mean "cosine"', c.exception.message)
        bad = LrkitClient(self.srv.url, "lrk_nope")
        with self.assertRaises(LrkitError) as c:
            bad.run(1)
        self.assertEqual(c.exception.status, 401)

    def test_metrics_do_not_refetch_rates(self):
        # Stored metrics move the run's row version but not its schedule
        # version: a fixed schedule is fetched once per block.
        run = self.client.create_run("once", "linear(peak=1, steps=1000)", 1000)
        calls = []

        class Counting(LrkitClient):
            def lrs(self, *args):
                calls.append(args)
                return super().lrs(*args)

        s = LrkitScheduler(Counting(self.srv.url, self.srv.token), run["id"], flush_every=4, flush_interval=0.05)
        for _ in range(40):
            s.step(loss=1.0)
        self.assertTrue(s.flush())
        for _ in range(40):
            s.step(loss=1.0)
        self.assertTrue(s.close())
        self.assertEqual(calls, [(run["id"], 0, 512)])

    def test_decay_reaches_running_job(self):
        run = self.client.create_run("dec", "constant(peak=0.5)", 1000)
        s = LrkitScheduler(self.client, run["id"], refresh=0.0, flush_every=1)
        for _ in range(10):
            s.step(loss=1.0)
        self.assertTrue(s.flush())
        self.client.request("POST", "/v1/runs/%d/actions/decay" % run["id"], {"steps": 10})
        self.assertAlmostEqual(s.rate(15), 0.25)
        self.assertEqual(s.rate(25), 0.0)
        s.close()


class OfflineTest(unittest.TestCase):
    def test_unreachable_server(self):
        tmp = tempfile.mkdtemp()
        try:
            srv = Server(lrkit_bin(tmp), os.path.join(tmp, "lrkit.db"), free_port())
            srv.start()
            client = LrkitClient(srv.url, srv.token, timeout=2)
            run = client.create_run("off", "linear(peak=1, steps=1000)", 1000)
            s = LrkitScheduler(client, run["id"], block=16, flush_every=4, flush_interval=0.1, retry_interval=0.2)
            for _ in range(10):
                s.step(loss=2.0)
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                srv.stop()
                for _ in range(30):  # past the cached block of 16 steps
                    s.step(loss=2.0)
                time.sleep(0.5)
            msgs = [str(x.message) for x in w if "unreachable" in str(x.message)]
            self.assertEqual(len(msgs), 1, msgs)
            self.assertEqual(s.rate(39), 1 - 15 / 1000)  # the last known rate
            self.assertGreater(s.unsent, 0)
            srv.start()
            self.assertTrue(s.flush(20))
            ms = client.metrics(run["id"])
            self.assertEqual([m["step"] for m in ms], list(range(40)))
            time.sleep(0.3)
            self.assertAlmostEqual(s.rate(40), 1 - 40 / 1000)  # caught up
            s.close()
            srv.stop()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_events_read_every_page(self):
        # The server answers at most 10,000 events a request, with more set
        # when there are more: events() asks again after the last ID.
        class Paged(LrkitClient):
            def __init__(self):
                super().__init__("http://unused", "t")
                self.asked = []

            def request(self, method, path, body=None):
                after = int(path.rsplit("after=", 1)[1])
                self.asked.append(after)
                ids = [i for i in range(after + 1, min(after + 3, 7) + 1)]
                return {"events": [{"id": i} for i in ids], "more": bool(ids) and ids[-1] < 7}

        c = Paged()
        self.assertEqual([e["id"] for e in c.events(9)], [1, 2, 3, 4, 5, 6, 7])
        self.assertEqual(c.asked, [0, 3, 6])
        self.assertEqual([e["id"] for e in c.events(9, after=5)], [6, 7])

    def test_hung_server_does_not_stall_every_step(self):
        # A server that accepts connections but does not answer (stopped,
        # or behind a dead proxy): every request waits for the client's
        # timeout. Between attempts, retry_interval apart counted from the
        # failure, training goes on at the last known rate without waiting.
        class Hung:
            def __init__(self, wait):
                self.wait, self.calls = wait, 0

            def lrs(self, run_id, start, stop):
                self.calls += 1
                if self.calls == 1:
                    return [0.5] * (stop - start), "v1"
                time.sleep(self.wait)  # the client's timeout
                raise TimeoutError("timed out")

            def post_metrics(self, run_id, batch_id, metrics):
                return {"schedule_version": "v1"}

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Past the cached block: one attempt, then the last known rate.
            c = Hung(0.05)
            s = LrkitScheduler(c, 1, block=4, refresh=60, retry_interval=60)
            for _ in range(20):
                s.step(loss=1.0)
            self.assertEqual(c.calls, 2)
            self.assertEqual(s.rate(19), 0.5)
            s.close(1)
            # A stale block whose refetch times out after longer than
            # retry_interval: the next attempt still waits retry_interval.
            c = Hung(0.6)
            s = LrkitScheduler(c, 1, block=1000, refresh=0, retry_interval=0.5)
            t0 = time.monotonic()
            for _ in range(5):
                s.step(loss=1.0)
            self.assertEqual(c.calls, 2)
            self.assertLess(time.monotonic() - t0, 2.5)  # one wait, not one per step
            s.close(1)


try:
    import torch
except ImportError:
    torch = None


class TorchTest(unittest.TestCase):
    def test_tiny_model(self):
        # A failure, not a skip: unittest names a skipped test too, and the
        # Go test TestPythonClient must not take a skip for a run.
        if torch is None:
            self.fail("python3-torch is not installed (Debian package python3-torch): the torch scheduler is untested")
        tmp = tempfile.mkdtemp()
        srv = Server(lrkit_bin(tmp), os.path.join(tmp, "lrkit.db"), free_port())
        srv.start()
        try:
            client = LrkitClient(srv.url, srv.token)
            run = client.create_run("torch", "warmup(cosine(peak=0.05, steps=60), steps=5)", 60)
            torch.manual_seed(0)
            model = torch.nn.Linear(4, 1)
            opt = torch.optim.SGD(model.parameters(), lr=1.0)
            s = LrkitScheduler(client, run["id"], optimizer=opt)
            x = torch.randn(64, 4)
            y = x @ torch.tensor([[1.0], [-2.0], [0.5], [3.0]]) + 0.1
            accum = 2
            first = None
            for it in range(60 * accum + 3):
                loss = ((model(x) - y) ** 2).mean()
                (loss / accum).backward()
                first = first or loss.item()
                if it % accum == accum - 1:
                    if it == 11:  # an overflow: the optimizer step is skipped
                        opt.zero_grad()
                        s.step(loss=loss.item())
                        continue
                    lr = opt.param_groups[0]["lr"]
                    self.assertEqual(lr, s.rate(s.step_count))
                    opt.step()
                    s.step(loss=loss.item())
                    opt.zero_grad()
                else:
                    s.step()  # a micro-batch: no optimizer.step, not counted
            self.assertEqual(s.step_count, 60)
            self.assertEqual(s.skipped, 60 * accum + 3 - 60)
            self.assertTrue(s.close())
            ms = client.metrics(run["id"])
            self.assertEqual(len(ms), 60)
            self.assertLess(ms[-1]["loss"], first / 10)
            # The LambdaLR recipe: lr 1.0 and the rate as the lambda gives
            # the rates exactly, the warm-up from 0 included (a multiplier
            # of base_lr = rate(0) = 0 would stay at 0: it is an error).
            lam_opt = torch.optim.SGD(model.parameters(), lr=1.0)
            sched = torch.optim.lr_scheduler.LambdaLR(lam_opt, s.rate)
            got = []
            for _ in range(8):
                got.append(sched.get_last_lr()[0])
                lam_opt.step()
                sched.step()
            self.assertEqual(got, [s.rate(t) for t in range(8)])
            self.assertEqual(got[0], 0.0)
            self.assertEqual(got[5], 0.05)
            with self.assertRaisesRegex(ValueError, r"base_lr is 0\.0 \(the run.s rate at step 0"):
                s.multiplier(3)
        finally:
            srv.stop()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
