"""A PyTorch learning-rate scheduler driven by lrkit.

``Scheduler(optimizer, spec)`` is a torch LR scheduler (a subclass of
``torch.optim.lr_scheduler.LRScheduler`` on torch 2.x and of
``_LRScheduler`` on 1.13) whose rates are those of an lrkit schedule spec,
evaluated offline by lrkit's own schedule library, so they are exactly what
``lrkit values`` prints:

    sched = lrkit.torch.Scheduler(opt, "warmup(cosine(peak=3e-4, steps=10000), steps=500)")
    for batch in data:
        loss = model(batch); loss.backward()
        opt.step()
        sched.step()              # or sched.step(loss=loss)
        opt.zero_grad()

Given an ``lrkit.LrkitClient`` and a run, it asks ``lrkit serve`` for the
rates instead (in blocks, cached) and reports each step's metrics, so the
server's controllers, actions (decay now, extend) and live forecasts work
from PyTorch.

Counting. The scheduler counts optimizer updates, as lrkit does: step t's
rate is the one used by the update from t to t+1. ``step()`` with no
arguments (what Hugging Face's Trainer and Lightning call) moves to the
next step when ``optimizer.step()`` ran since the last ``step()``; when it
did not (GradScaler skipped an overflowing step, a gradient-accumulation
micro-batch) the call is counted in ``skipped`` and the rate stays.
``count="calls"`` counts every ``step()`` call instead, as torch's own
schedulers do.

Metrics. ``observe(loss=..., grad_norm=..., val_loss=...)`` before
``step()`` attaches values to the step being taken (several losses in one
step, from micro-batches, are averaged); ``step(loss=...)`` does both.
``grad_norms=True`` reads the gradients' L2 and L1 norms from the
optimizer's parameters at every ``step()`` when none was observed (after
any clipping: observe the value ``clip_grad_norm_`` returns for the norm
before it). Records go to the server (remote mode) and to ``log``, an
``lrkit.RunLog``, one per step.

Resuming. ``state_dict()`` holds the step, the spec (or the run) and the
per-group peaks, all plain Python values; ``load_state_dict`` continues at
that step with the same rates, and refuses a state saved with another spec
or run unless ``allow_spec_change=True``.
"""

from __future__ import annotations

import atexit
import functools
import math
import numbers
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from torch.optim import lr_scheduler as _ls

from .client import _FIELDS as _SERVER_FIELDS
from .client import LrkitClient, LrkitScheduler, same_spec
from .runlog import FIELDS as _LOG_FIELDS
from .runlog import RunLog
from .schedule import Schedule

__all__ = ["Scheduler", "grad_norms", "BASE"]

# torch 2.x calls the base class LRScheduler (and keeps _LRScheduler as a
# subclass of it); torch 1.13 has only _LRScheduler.
if TYPE_CHECKING:  # _LRScheduler is in both (a subclass of LRScheduler in 2.x)
    from torch.optim.lr_scheduler import _LRScheduler as BASE
else:
    BASE = getattr(_ls, "LRScheduler", None) or _ls._LRScheduler

_Spec = Union[str, Dict[str, Any], Schedule]

_STATE_VERSION = 1


def _params(source):
    """The parameters of an optimizer, a module or an iterable of tensors."""
    if hasattr(source, "param_groups"):
        for g in source.param_groups:
            yield from g["params"]
    elif hasattr(source, "parameters"):
        yield from source.parameters()
    else:
        yield from source


def grad_norms(source: Any) -> Tuple[Optional[float], Optional[float]]:
    """The L2 and L1 norms of the gradients of an optimizer's parameters (or
    a model's, or an iterable of tensors), as floats computed in float64;
    (None, None) when no parameter has a gradient. Sparse gradients count
    their stored values."""
    l2 = l1 = None
    for p in _params(source):
        g = getattr(p, "grad", None)
        if g is None:
            continue
        if g.is_sparse:
            g = g.coalesce().values()
        g = g.detach().to(torch.float64)
        sq, ab = g.pow(2).sum(), g.abs().sum()
        l2 = sq if l2 is None else l2 + sq
        l1 = ab if l1 is None else l1 + ab
    if l2 is None:
        return None, None
    return math.sqrt(l2.item()), l1.item()


def _float(v):
    if isinstance(v, torch.Tensor):
        if v.numel() != 1:
            raise ValueError("want a single value, got a tensor of shape %s" % (tuple(v.shape),))
        return float(v.detach().item())
    return float(v)


class _Counter:
    __slots__ = ("n",)

    def __init__(self):
        self.n = 0


def _close_at_exit(ref):
    s = ref()
    if s is not None:
        s.close()


class Scheduler(BASE):
    """Learning rates from an lrkit spec (offline) or from ``lrkit serve``
    (remote) for a torch optimizer.

    ``spec``: spec text, a JSON dict, an ``lrkit.Schedule``, or a list of
    them, one per parameter group. ``parity`` as in ``lrkit.Schedule``.
    ``peaks``: per-group peaks; the spec is then a shape (write it with
    ``peak=1``) and group i's rate is ``peaks[i] * rate``. ``peaks="initial"``
    takes each group's lr as the optimizer was built with it.

    Remote: ``client`` (an ``lrkit.LrkitClient``) and ``run``, a run name
    (created with ``spec`` and ``budget``, or found when it exists with the
    same spec) or a run ID. ``block``, ``refresh``, ``flush_every`` and
    ``flush_interval`` are ``LrkitScheduler``'s; call ``close()`` at the end
    of training to send the last metrics (it also runs at exit).

    ``log``: an ``lrkit.RunLog`` that gets one record per step (lr is group
    0's rate). ``grad_norms``: measure gradient norms at each step.
    ``count``: "optimizer" (default) or "calls", see the module doc.
    ``last_epoch``: as torch's schedulers take it (prefer load_state_dict).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, spec: Union[_Spec, Sequence[_Spec], None] = None, *,
                 peaks: Union[Sequence[float], str, None] = None, parity: Optional[str] = None,
                 client: Optional[LrkitClient] = None, run: Union[str, int, None] = None,
                 budget: Optional[int] = None, block: int = 512, refresh: float = 10.0, flush_every: int = 64,
                 flush_interval: float = 1.0, log: Optional[RunLog] = None, grad_norms: bool = False,
                 count: str = "optimizer", last_epoch: int = -1) -> None:
        if count not in ("optimizer", "calls"):
            raise ValueError('count: %r, want "optimizer" or "calls"' % (count,))
        groups = getattr(optimizer, "param_groups", None)
        if groups is None:
            raise TypeError("optimizer: want a torch optimizer, got %s" % type(optimizer).__name__)
        n = len(groups)
        self._ready = False
        self._count = count
        self._log = log
        self._grad_norms = bool(grad_norms)
        self._obs = {}
        self._loss_sum, self._loss_n = 0.0, 0
        self.skipped = 0
        self._remote = None
        self.run_id = None
        self.schedules = None
        if peaks == "initial":
            # initial_lr, as torch's schedulers keep it: an optimizer whose
            # state was loaded (resuming) holds the rate of the saved step.
            peaks = [g.get("initial_lr", g["lr"]) for g in groups]
        if peaks is not None:
            peaks = [float(p) for p in peaks]
            if len(peaks) != n:
                raise ValueError("peaks: %d values for %d parameter groups" % (len(peaks), n))
            for i, p in enumerate(peaks):
                if not (p > 0 and math.isfinite(p)):
                    raise ValueError("peaks[%d]: %r, want a finite rate > 0" % (i, p))
        self.peaks = peaks
        if client is None and run is not None:
            raise ValueError("run: a run needs a client (lrkit.LrkitClient(url, token))")
        if client is not None:
            self._init_remote(client, spec, run, budget, parity, block, refresh, flush_every, flush_interval)
        else:
            if spec is None:
                raise ValueError("spec: give a schedule spec (or a client and a run for remote mode)")
            specs = list(spec) if isinstance(spec, (list, tuple)) else [spec] * n
            if len(specs) != n:
                raise ValueError("spec: %d specs for %d parameter groups" % (len(specs), n))
            made = {}
            self.schedules = []
            for s in specs:
                key = id(s)
                if key not in made:
                    made[key] = s if isinstance(s, Schedule) and parity is None else Schedule(s, parity=parity)
                self.schedules.append(made[key])
        for g in groups:
            g.setdefault("initial_lr", g["lr"])
        super().__init__(optimizer, last_epoch)
        self._ready = True
        # Count the optimizer's updates: wrap its step (on top of torch's own
        # wrapper, whose marks are copied so that torch does not wrap again).
        self._opt_steps = _Counter()
        self._seen = 0
        counter, inner = self._opt_steps, optimizer.step

        @functools.wraps(inner)
        def counted_step(*args, **kwargs):
            counter.n += 1
            return inner(*args, **kwargs)

        optimizer.step = counted_step
        if self._remote is not None:
            atexit.register(_close_at_exit, weakref.ref(self))

    def _init_remote(self, client, spec, run, budget, parity, block, refresh, flush_every, flush_interval):
        if not isinstance(client, LrkitClient):
            raise TypeError("client: want an lrkit.LrkitClient, got %s" % type(client).__name__)
        if isinstance(spec, (list, tuple)):
            raise ValueError("spec: a remote run has one spec; use peaks for per-group rates")
        if parity is not None:
            raise ValueError("parity: not available in remote mode (the server reads the spec as written)")
        if isinstance(spec, Schedule):
            spec = spec.canonical
        if isinstance(run, bool) or run is None:
            raise ValueError("run: want a run name (str) or ID (int)")
        if isinstance(run, numbers.Integral):
            info = client.run(int(run))
            if spec is not None and not same_spec(spec, client.created_spec(info)):
                raise ValueError("spec: run %d was created with spec %s, not %s" % (
                    info["id"], client.created_spec(info), spec))
        elif isinstance(run, str):
            if spec is None:
                raise ValueError("spec: creating or finding run %r needs its spec" % run)
            if budget is None:
                raise ValueError("budget: creating run %r needs its budget (optimizer steps)" % run)
            info = client.create_run(run, spec, int(budget), exist_ok=True)
        else:
            raise TypeError("run: want a run name (str) or ID (int), got %s" % type(run).__name__)
        self.run_id = info["id"]
        self._remote = LrkitScheduler(client, self.run_id, optimizer=None, base_lr=1.0, block=block,
                                      refresh=refresh, flush_every=flush_every, flush_interval=flush_interval)

    # ---- rates ---------------------------------------------------------

    def rate(self, step: int, group: int = 0) -> float:
        """The learning rate of a parameter group at a step."""
        if self._remote is not None:
            r = self._remote.rate(step)
        else:
            r = self.schedules[group].lr(step)
        return r * self.peaks[group] if self.peaks is not None else r

    def get_lr(self) -> List[float]:
        t = max(self.last_epoch, 0)
        return [self.rate(t, i) for i in range(len(self.optimizer.param_groups))]

    def get_last_lr(self) -> List[float]:
        """The rates of the parameter groups at the current step."""
        return self._last_lr

    _get_closed_form_lr = get_lr

    def _apply(self):
        lrs = self.get_lr()
        for g, lr in zip(self.optimizer.param_groups, lrs):
            g["lr"] = lr
        self._last_lr = list(lrs)

    # ---- metrics -------------------------------------------------------

    def observe(self, **metrics: Any) -> Scheduler:
        """Attach metrics to the step being taken (the one the next
        ``step()`` completes): loss, grad_norm, grad_norm_l1, val_loss,
        val_metric, and for the run log any other run-log field. Values may
        be floats or one-element tensors; None is ignored. Several losses
        in one step are averaged; other values replace earlier ones."""
        for k, v in metrics.items():
            if k == "step" or k not in _LOG_FIELDS:
                raise ValueError("observe: unknown metric %r (want one of %s)" % (k, ", ".join(
                    f for f in _LOG_FIELDS if f != "lr")))
            if k == "lr":
                raise ValueError("observe: lr is the scheduler's own; it is recorded with every step")
            if v is None:
                continue
            if k == "loss":
                self._loss_sum += _float(v)
                self._loss_n += 1
            else:
                self._obs[k] = v
        return self

    def observe_gradients(self) -> Scheduler:
        """Observe the L2 and L1 norms of the optimizer's gradients now."""
        l2, l1 = grad_norms(self.optimizer)
        return self.observe(grad_norm=l2, grad_norm_l1=l1)

    def _take_metrics(self):
        m = {k: (v if k == "examples_seen" and isinstance(v, int) else _float(v)) for k, v in self._obs.items()}
        if self._loss_n:
            m["loss"] = self._loss_sum / self._loss_n
        self._obs, self._loss_sum, self._loss_n = {}, 0.0, 0
        return m

    def _record(self, t, metrics):
        if self._grad_norms and "grad_norm" not in metrics:
            l2, l1 = grad_norms(self.optimizer)
            if l2 is not None:
                metrics["grad_norm"] = l2
                metrics.setdefault("grad_norm_l1", l1)
        if self._remote is not None:
            self._remote.report(t, **{k: v for k, v in metrics.items() if k in _SERVER_FIELDS})
        if self._log is not None:
            self._log.write(t, lr=self._last_lr[0], **metrics)

    # ---- steps ---------------------------------------------------------

    def step(self, epoch: Optional[int] = None, **metrics: Any) -> None:
        """Complete the current step: record its metrics (``loss=...``
        etc., as ``observe`` takes them) and set the rates of the next one.
        Without a new ``optimizer.step()`` since the last call the step was
        skipped: nothing is recorded and the rate stays (unless
        count="calls"). ``epoch`` jumps to that step, as torch's deprecated
        form does (nothing is recorded)."""
        if metrics:
            self.observe(**metrics)
        initial = getattr(self, "_step_count", 0) == 0
        self._step_count = getattr(self, "_step_count", 0) + 1
        if not self._ready or initial:
            # torch's _initial_step (which zeroes _step_count): the base
            # class's call from __init__, or SequentialLR's, which has
            # moved last_epoch back by one. Not an update: always a step.
            self.last_epoch += 1
            if self._ready:
                self._seen = self._opt_steps.n
            self._apply()
            return
        if epoch is not None:
            self.last_epoch = int(epoch)
            self._take_metrics()
            self._seen = self._opt_steps.n
            self._apply()
            return
        if self._count == "optimizer" and self._opt_steps.n == self._seen:
            self.skipped += 1
            self._take_metrics()  # a skipped step's metrics are not reported
            return
        if self._count == "calls" and self._step_count == 2 and self._opt_steps.n == 0:
            # torch's own warning, which this step() replaces.
            warnings.warn("lrkit: Detected call of `lr_scheduler.step()` before `optimizer.step()`: with "
                          "count=\"calls\" every call moves to the next step, so the schedule's first rate is "
                          "skipped; call optimizer.step() before lr_scheduler.step() (or count updates with "
                          "count=\"optimizer\")", UserWarning, stacklevel=2)
        self._seen = self._opt_steps.n
        t = self.last_epoch
        self._record(t, self._take_metrics())
        self.last_epoch = t + 1
        self._apply()

    # ---- state ---------------------------------------------------------

    def _identity(self):
        if self._remote is not None:
            return {"run_id": self.run_id}
        return {"spec": [s.canonical for s in self.schedules]}

    def state_dict(self) -> Dict[str, Any]:
        """The scheduler's state as plain Python values (torch.save-able)."""
        st = {"lrkit_state": _STATE_VERSION, "last_epoch": self.last_epoch, "skipped": self.skipped,
              "_step_count": self._step_count, "peaks": self.peaks, "base_lrs": list(self.base_lrs),
              "_last_lr": list(self._last_lr)}
        st.update(self._identity())
        return st

    def load_state_dict(self, state_dict: Mapping[str, Any], allow_spec_change: bool = False) -> None:
        """Continue from a state_dict: the next rates are those of its step.
        A state saved with another spec (offline) or run (remote) is a
        ValueError naming both, unless allow_spec_change."""
        st = dict(state_dict)
        if st.get("lrkit_state") != _STATE_VERSION:
            raise ValueError("state_dict: not an lrkit.torch.Scheduler state (lrkit_state=%r, want %d)" % (
                st.get("lrkit_state"), _STATE_VERSION))
        mine = self._identity()
        if not allow_spec_change:
            if "run_id" in mine and st.get("run_id") != mine["run_id"]:
                raise ValueError("state_dict: saved from run %r, this scheduler drives run %r (pass "
                                 "allow_spec_change=True to continue anyway)" % (st.get("run_id"), mine["run_id"]))
            if "spec" in mine and st.get("spec") != mine["spec"]:
                raise ValueError("state_dict: saved with spec %s, this scheduler has %s (pass allow_spec_change=True "
                                 "to continue the step count under the new spec)" % (
                                     _show(st.get("spec")), _show(mine["spec"])))
            if st.get("peaks") != self.peaks:
                raise ValueError("state_dict: saved with peaks %r, this scheduler has %r" % (st.get("peaks"), self.peaks))
        self.last_epoch = int(st["last_epoch"])
        self.skipped = int(st.get("skipped", 0))
        self._step_count = int(st.get("_step_count", self._step_count))
        self._seen = self._opt_steps.n
        self._take_metrics()
        self._apply()

    # ---- end -----------------------------------------------------------

    def flush(self, timeout: float = 30.0) -> bool:
        """Send the queued metrics now and flush the log. In remote mode the
        rates of the current step are then read again, so that a decision
        the metrics caused (a controller's, say) applies from this step
        rather than from the next. False if the server stayed unreachable
        for timeout seconds."""
        ok = True
        if self._remote is not None:
            ok = self._remote.flush(timeout)
            if ok:
                self._apply()
        if self._log is not None and not self._log.closed:
            self._log.flush()
        return ok

    def close(self, timeout: float = 30.0) -> bool:
        """Send queued metrics to the server (remote mode), flush the log;
        warn about metrics observed after the last step(). True when
        everything was delivered."""
        if self._obs or self._loss_n:
            warnings.warn("lrkit: metrics observed after the last step() were not recorded: call observe() "
                          "before step()", RuntimeWarning, stacklevel=2)
            self._take_metrics()
        ok = True
        if self._remote is not None and not self._remote._stop:
            ok = self._remote.close(timeout)
        if self._log is not None and not self._log.closed:
            self._log.flush()
        return ok

    def __enter__(self) -> Scheduler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _show(specs):
    if isinstance(specs, list) and len(set(specs)) == 1:
        return specs[0]
    return repr(specs)
