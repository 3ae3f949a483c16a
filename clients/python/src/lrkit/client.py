"""Client for ``lrkit serve``, the learning-rate control plane.

Standard library only. ``LrkitClient`` speaks the HTTP/JSON API;
``LrkitScheduler`` drives a training loop from it:

    client = LrkitClient("http://127.0.0.1:8080", token)
    run = client.create_run("gpt-small-1", "warmup(cosine(peak=3e-4, steps=10000), steps=500)", 10000)
    sched = LrkitScheduler(client, run["id"], optimizer=opt)   # sets opt's lr
    for batch in data:
        loss = ...; loss.backward()
        if accumulation_done:
            scaler.step(opt); scaler.update()        # or opt.step()
            sched.step(loss=loss.item())             # one optimizer step
            opt.zero_grad()

The scheduler counts optimizer steps, not calls: with an optimizer it
wraps ``optimizer.step`` and does not advance when that was not called
since the last ``step()`` (a mixed-precision overflow makes GradScaler
skip it); without one, call ``step(skipped=True)``. Rates are fetched in
blocks and cached; metrics go to the server from a background thread in
batches with unique batch IDs (a retried batch is stored once). If the
server is unreachable, the scheduler keeps the last known schedule, warns
once, and sends the queued metrics when the server is back.

For PyTorch, ``lrkit.torch.Scheduler(optimizer, spec, client=...,
run=...)`` is a real LR scheduler on top of this one (state_dict,
no-argument ``step()`` for Hugging Face's Trainer and Lightning). With
``torch.optim.lr_scheduler.LambdaLR``, give the optimizer lr 1.0 and pass
``sched.rate`` as the lambda: the rate is then 1.0 * rate, exactly (also
for a warm-up from 0). LambdaLR counts its own steps, skipped or not.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = ["LrkitClient", "LrkitError", "LrkitScheduler", "SpecMismatchError"]


class LrkitError(Exception):
    """An error answer from the server (status and message)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__("lrkit: HTTP %d: %s" % (status, message))
        self.status = status
        self.message = message


class SpecMismatchError(LrkitError):
    """create_run(exist_ok=True) found a run of that name created with
    another spec."""

    def __init__(self, name: str, run_id: int, existing: str, given: str) -> None:
        super().__init__(409, "run %r (id %d) exists with spec %s, not the spec given, %s: use another run name, "
                              "or the run's spec" % (name, run_id, existing, given))
        self.existing = existing
        self.given = given

    def __str__(self) -> str:
        return "lrkit: " + self.message


def _squeeze(spec):
    return "".join(spec.split())


def same_spec(a: str, b: str) -> bool:
    """Whether two specs name the same schedule: equal text up to blanks,
    or equal canonical forms when lrkit's schedule library is available and
    both are schedules (a controller spec is compared as text)."""
    if a == b or _squeeze(a) == _squeeze(b):
        return True
    try:
        from .schedule import Schedule
        return Schedule(a) == Schedule(b)
    except (ValueError, TypeError, OSError):
        return False


class LrkitClient:
    """A connection to ``lrkit serve`` with one project's API token."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.requests = 0  # HTTP requests sent (for tests and monitoring)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None
        headers = {"Authorization": "Bearer " + self.token}
        if body is not None:
            data = json.dumps(body, allow_nan=False).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        self.requests += 1
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            try:
                msg = json.loads(e.read()).get("error", "")
            except (ValueError, AttributeError):
                msg = e.reason
            raise LrkitError(e.code, msg) from None

    def create_run(self, name: str, spec: str, budget: int, exist_ok: bool = True) -> Dict[str, Any]:
        """Create a run. With exist_ok, a run of that name that already
        exists in the project is returned when it was created with the same
        spec (compared as lrkit's canonical text where the spec is a
        schedule; actions taken since, which rewrite the spec, do not
        count), so a restarted job finds its run; one created with another
        spec is a SpecMismatchError naming both specs."""
        try:
            return self.request("POST", "/v1/runs", {"name": name, "spec": spec, "budget": budget})
        except LrkitError as e:
            if e.status != 409 or not exist_ok:
                raise
        for run in self.request("GET", "/v1/runs")["runs"]:
            if run["name"] == name:
                break
        else:
            raise LrkitError(404, "run %r not found" % name)
        created = self.created_spec(run)
        if not same_spec(spec, created):
            raise SpecMismatchError(name, run["id"], created, spec)
        return run

    def created_spec(self, run: Mapping[str, Any]) -> str:
        """The spec a run was created with: its spec before the first action
        that rewrote it (decay, extend), else its spec."""
        for ev in self.events(run["id"]):
            detail = ev.get("detail") or {}
            if isinstance(detail, dict) and "from_spec" in detail:
                return detail["from_spec"]
        return run["spec"]

    def events(self, run_id: int, after: int = 0) -> List[Dict[str, Any]]:
        """The run's events (controller decisions and actions) after an ID,
        all of them: the server answers a page at a time (at most 10,000
        events, with ``more`` set when there are more after the last)."""
        out: List[Dict[str, Any]] = []
        while True:
            r = self.request("GET", "/v1/runs/%d/events?after=%d" % (run_id, after))
            page = r["events"]
            out.extend(page)
            if not r.get("more") or not page:
                return out
            after = page[-1]["id"]

    def run(self, run_id: int) -> Dict[str, Any]:
        return self.request("GET", "/v1/runs/%d" % run_id)

    def lrs(self, run_id: int, start: int, stop: int) -> Tuple[List[float], str]:
        """The rates of steps start..stop-1 and the run's schedule version
        (which changes exactly when the run's rates may have changed)."""
        r = self.request("GET", "/v1/runs/%d/lr?from=%d&to=%d" % (run_id, start, stop))
        return [float(v) for v in r["lrs"]], r["schedule_version"]  # JSON writes 0.0 as 0

    def post_metrics(self, run_id: int, batch_id: str, metrics: List[Dict[str, Any]]) -> Dict[str, Any]:
        return self.request("POST", "/v1/runs/%d/metrics" % run_id, {"batch_id": batch_id, "metrics": metrics})

    def metrics(self, run_id: int, start: int = 0, limit: int = 100000) -> List[Dict[str, Any]]:
        return self.request("GET", "/v1/runs/%d/metrics?from=%d&limit=%d" % (run_id, start, limit))["metrics"]


_FIELDS = ("loss", "grad_norm", "grad_norm_l1", "val_loss", "val_metric")


class LrkitScheduler:
    """Learning rates from ``lrkit serve`` for a training loop.

    ``optimizer``: a torch optimizer (or anything with ``param_groups``);
    its groups' lr are set to the server's rate at every step. ``base_lr``:
    the rate ``multiplier`` divides by (default: the first rate). ``block``:
    rates fetched per request. ``refresh``: seconds after which the cached
    block is fetched again, so actions taken on the dashboard (decay now,
    extend) reach the job. ``flush_every``/``flush_interval``: metrics are
    sent when that many are queued or that many seconds passed.
    """

    def __init__(self, client: LrkitClient, run_id: int, optimizer: Any = None, base_lr: Optional[float] = None,
                 start_step: int = 0, block: int = 512, refresh: float = 10.0, flush_every: int = 64,
                 flush_interval: float = 1.0, retry_interval: float = 2.0) -> None:
        self.client = client
        self.run_id = run_id
        self.optimizer = optimizer
        self.block = block
        self.refresh = refresh
        self.retry_interval = retry_interval
        self.step_count = start_step  # optimizer steps taken
        self._start_step = start_step
        self.skipped = 0
        self._cache = {}  # block index -> (rates, fetched at)
        self._last_rate = None
        self._version = None
        self._offline_since = None
        self._warned = False
        self._next_retry = 0.0
        self._lock = threading.Lock()
        self._queue = []  # metric dicts not yet in a batch
        self._pending = []  # (batch id, metrics) not yet acknowledged, in order
        self._client_id = uuid.uuid4().hex[:12]
        self._seq = 0
        self._flush_every = flush_every
        self._flush_interval = flush_interval
        self._wake = threading.Event()
        self._stop = False
        self._opt_steps = 0
        self._seen_opt_steps = 0
        if optimizer is not None:
            self._wrap(optimizer)
        self.base_lr = base_lr if base_lr is not None else self.rate(self.step_count)
        self._apply()
        self._thread = threading.Thread(target=self._report_loop, name="lrkit-metrics", daemon=True)
        self._thread.start()

    # ---- rates -------------------------------------------------------

    def _wrap(self, optimizer):
        inner = optimizer.step

        def step(*args, **kwargs):
            self._opt_steps += 1
            return inner(*args, **kwargs)

        optimizer.step = step

    def _warn(self, err):
        if not self._warned:
            self._warned = True
            warnings.warn("lrkit: server unreachable (%s); training continues with the last known "
                          "schedule and metrics are kept until it is back" % err, RuntimeWarning, stacklevel=3)

    def _mark_stale(self):
        # Cached blocks are refetched at their next use but kept: while the
        # server is unreachable they are still the last known schedule.
        self._cache = {k: (v[0], float("-inf")) for k, v in list(self._cache.items())}

    def rate(self, step: int) -> float:
        """The learning rate of a step (cached by blocks)."""
        k = step // self.block
        now = time.monotonic()
        hit = self._cache.get(k)
        if hit is None or now - hit[1] > self.refresh:
            # While the server is unreachable it is asked again only every
            # retry_interval, also for a block never fetched, as long as a
            # last known rate stands in.
            if now >= self._next_retry or self._last_rate is None:
                try:
                    lrs, version = self.client.lrs(self.run_id, k * self.block, (k + 1) * self.block)
                    if self._version is not None and version != self._version:
                        self._mark_stale()
                    self._version = version
                    hit = (lrs, now)
                    self._cache[k] = hit
                    self._offline_since = None
                except (OSError, urllib.error.URLError, LrkitError) as e:
                    if isinstance(e, LrkitError) and e.status < 500:
                        raise
                    self._offline_since = self._offline_since or now
                    # From the failure, not the attempt: a request that
                    # timed out may have taken longer than retry_interval.
                    self._next_retry = time.monotonic() + self.retry_interval
                    self._warn(e)
        if hit is None:
            if self._last_rate is None:
                raise LrkitError(0, "no learning rate known yet and the server is unreachable")
            return self._last_rate
        self._last_rate = hit[0][step - k * self.block]
        return self._last_rate

    def multiplier(self, step: int) -> float:
        """rate(step) / base_lr. A base_lr of 0 (the default when the run
        starts at rate 0, a warm-up from 0) is an error: the multiplier
        would be 0 forever. For LambdaLR, prefer ``rate`` as the lambda with
        the optimizer's lr at 1.0."""
        if not self.base_lr:
            raise ValueError("lrkit: base_lr is %r (the run's rate at step %d when not given), so rate/base_lr is "
                             "undefined; pass base_lr=..., or use sched.rate as the LambdaLR lambda with the "
                             "optimizer's lr set to 1.0" % (self.base_lr, self._start_step))
        return self.rate(step) / self.base_lr

    def get_last_lr(self) -> List[float]:
        return [self.rate(self.step_count)] * (len(self.optimizer.param_groups) if self.optimizer else 1)

    def _apply(self):
        if self.optimizer is not None:
            lr = self.rate(self.step_count)
            for g in self.optimizer.param_groups:
                g["lr"] = lr

    # ---- steps and metrics ------------------------------------------

    def step(self, skipped: bool = False, **metrics: Optional[float]) -> int:
        """Count one optimizer step and report its metrics (loss=...,
        grad_norm=..., val_loss=...). A skipped step (skipped=True, or no
        optimizer.step call since the last step) is not counted and its
        metrics are not reported."""
        if self.optimizer is not None and self._opt_steps == self._seen_opt_steps:
            skipped = True
        self._seen_opt_steps = self._opt_steps
        if skipped:
            self.skipped += 1
            return self.step_count
        self.report(self.step_count, **metrics)
        self.step_count += 1
        self._apply()
        return self.step_count

    def report(self, step: int, **metrics: Optional[float]) -> None:
        """Queue the metrics of one step (loss=..., grad_norm=..., ...) with
        the step's rate, without counting a step; ``step`` does this for
        the current step. Non-finite values are left out (the server
        refuses them); None is absent."""
        rec = {"step": step, "lr": self.rate(step)}
        for k, v in metrics.items():
            if k not in _FIELDS:
                raise ValueError("unknown metric %r (want one of %s)" % (k, ", ".join(_FIELDS)))
            if v is None:
                continue
            v = float(v)
            if v != v or v in (float("inf"), float("-inf")):
                continue  # the server refuses non-finite values
            rec[k] = v
        with self._lock:
            self._queue.append(rec)
            if len(self._queue) >= self._flush_every:
                self._wake.set()

    def _report_loop(self):
        while True:
            self._wake.wait(self._flush_interval)
            self._wake.clear()
            self._flush_once()
            if self._stop:
                return

    def _flush_once(self):
        with self._lock:
            while self._queue:
                batch, self._queue = self._queue[:1000], self._queue[1000:]
                self._seq += 1
                self._pending.append(("%s-%d" % (self._client_id, self._seq), batch))
            pending = list(self._pending)
        for batch_id, batch in pending:
            try:
                r = self.client.post_metrics(self.run_id, batch_id, batch)
            except LrkitError as e:
                if e.status < 500:
                    warnings.warn("lrkit: metrics batch dropped: %s" % e, RuntimeWarning)
                else:
                    self._warn(e)
                    return False
            except (OSError, urllib.error.URLError) as e:
                self._warn(e)
                return False
            else:
                if self._version is not None and r.get("schedule_version") != self._version:
                    self._version = None  # the schedule may have changed: refetch
                    self._mark_stale()
            with self._lock:
                self._pending.pop(0)
        return True

    def flush(self, timeout: float = 30.0) -> bool:
        """Send every queued metric; False if the server stayed unreachable."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                empty = not self._queue and not self._pending
            if empty:
                return True
            self._wake.set()
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    @property
    def unsent(self) -> int:
        with self._lock:
            return len(self._queue) + sum(len(b) for _, b in self._pending)

    def close(self, timeout: float = 30.0) -> bool:
        ok = self.flush(timeout)
        self._stop = True
        self._wake.set()
        self._thread.join(timeout)
        return ok

    def state_dict(self) -> Dict[str, Any]:
        return {"step_count": self.step_count, "skipped": self.skipped, "base_lr": self.base_lr}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.step_count = state["step_count"]
        self.skipped = state["skipped"]
        self.base_lr = state["base_lr"]
        self._apply()
