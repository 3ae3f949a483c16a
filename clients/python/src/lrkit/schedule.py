"""Offline learning-rate schedules: lrkit's ``schedule`` package itself,
called through its C shared library, so a spec gives in Python exactly the
rates ``lrkit values`` prints, bit for bit, with no server.

    >>> s = Schedule("warmup(cosine(peak=0.1, steps=100), steps=10)")  # 100 steps in all
    >>> s.lr(0), s.lr(10)
    (0.0, 0.1)
    >>> s.values([0, 10, 55, 100])
    [0.0, 0.1, 0.05, 0.0]
    >>> str(s)
    'warmup(cosine(peak=0.1, steps=100), steps=10)'

A bad spec raises ValueError with lrkit's positioned message
(``spec:1:8: unknown parameter "peek" for cosine (did you mean "peak"?)``).
Steps are whole numbers from 0 (the rate of step t is the one used by the
update from t to t+1 updates), at most 2**63-1.
"""

from __future__ import annotations

import array
import ctypes
import json
import operator
from typing import Any, Dict, Iterable, List, Optional, SupportsIndex, Union

from . import _lib

__all__ = ["Schedule"]

_INT64_MAX = (1 << 63) - 1


def _step(t, where="step"):
    try:
        t = operator.index(t)
    except TypeError:
        raise TypeError("%s: want a whole number of steps, got %r" % (where, t)) from None
    if t < 0:
        raise ValueError("%s %d is negative (steps count from 0)" % (where, t))
    if t > _INT64_MAX:
        raise ValueError("%s %d is larger than 2**63-1" % (where, t))
    return t


def _go_float(v):
    """v as Go's %v prints a float64 (NaN, +Inf, -Inf for those)."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "+Inf" if v > 0 else "-Inf"
    return repr(v)


class Schedule:
    """A learning-rate schedule read from spec text, its JSON form (text
    starting with "{", or a dict), or another Schedule.

    ``parity`` ("pytorch", "hf", "optax", "none") switches every schedule in
    the spec that has a parity option to that library's behaviour, as
    ``lrkit values --parity`` does.

    Schedules hold no state: ``lr`` and ``values`` are pure and safe from
    any thread. Two schedules are equal when their canonical specs are.
    """

    __slots__ = ("_h", "_lib", "_canonical")

    def __init__(self, spec: Union[str, Dict[str, Any], Schedule], parity: Optional[str] = None) -> None:
        self._h = 0
        lib = _lib.load()
        self._lib = lib
        if isinstance(spec, Schedule):
            spec = spec.canonical
        elif isinstance(spec, dict):
            spec = json.dumps(spec, allow_nan=False)
        elif not isinstance(spec, str):
            raise TypeError("spec: want spec text, a JSON dict or a Schedule, got %s" % type(spec).__name__)
        text = spec.encode("utf-8")
        par = b""
        if parity is not None:
            if not isinstance(parity, str):
                raise TypeError("parity: want a string, got %s" % type(parity).__name__)
            par = parity.encode("utf-8")
            if not par:
                raise ValueError('parity: empty; want "pytorch", "hf", "optax" or "none"')
        err = ctypes.c_void_p()
        h = lib.lrkit_parse(text, len(text), par or None, len(par), ctypes.byref(err))
        if not h:
            raise ValueError(_lib.take_string(lib, err.value) or "lrkit: spec could not be read")
        self._h = h
        self._canonical = _lib.take_string(lib, lib.lrkit_string(h))

    def __del__(self):
        h, self._h = getattr(self, "_h", 0), 0
        if h:
            try:
                self._lib.lrkit_free(h)
            except Exception:  # interpreter shutdown
                pass

    @property
    def canonical(self) -> str:
        """The canonical spec text: ``Schedule(s.canonical) == s``."""
        return self._canonical

    def __str__(self) -> str:
        return self._canonical

    def __repr__(self) -> str:
        return "Schedule(%r)" % self._canonical

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schedule):
            return NotImplemented
        return self._canonical == other._canonical

    def __hash__(self) -> int:
        return hash(self._canonical)

    def __reduce__(self):
        return (Schedule, (self._canonical,))

    def to_json(self) -> str:
        """The JSON form of the schedule (a str)."""
        err = ctypes.c_void_p()
        out = self._lib.lrkit_json(self._h, ctypes.byref(err))
        if not out:
            raise ValueError(_lib.take_string(self._lib, err.value))
        return _lib.take_string(self._lib, out)

    def _nonfinite(self, step, v):
        return ValueError("%s: the learning rate at step %d is %s" % (self._canonical, step, _go_float(v)))

    def lr(self, step: SupportsIndex) -> float:
        """The learning rate of one step (an int >= 0)."""
        t = _step(step)
        v = self._lib.lrkit_lr(self._h, t)
        if v != v or v in (float("inf"), float("-inf")):
            raise self._nonfinite(t, v)
        return v

    __call__ = lr

    def values(self, steps: Iterable[SupportsIndex]) -> List[float]:
        """The learning rates of many steps, as a list of floats.

        ``steps`` is a ``range`` (evaluated without building the list of
        steps), an int64 buffer such as ``array('q')`` or a NumPy int64
        array (read in place), or any iterable of ints. A stop past the
        schedule's end holds its final value, as ``lr`` does.
        """
        lib = self._lib
        if isinstance(steps, range):
            n = len(steps)
            if n == 0:
                return []
            out = array.array("d", [0.0]) * n
            lo, hi = min(steps[0], steps[-1]), max(steps[0], steps[-1])
            _step(lo, "steps: step")
            _step(hi, "steps: step")
            first = lib.lrkit_range(self._h, steps.start, steps.step, n, out.buffer_info()[0])
            at = (lambda i: steps[i])
        else:
            buf = self._int64_buffer(steps)
            n = len(buf)
            if n == 0:
                return []
            lo = min(buf)
            if lo < 0:
                _step(lo, "steps: step")
            cbuf = (ctypes.c_int64 * n).from_buffer(buf)
            out = array.array("d", [0.0]) * n
            first = lib.lrkit_values(self._h, ctypes.addressof(cbuf), n, out.buffer_info()[0])
            at = (lambda i: buf[i])
        if first == -2:
            raise ValueError("steps: the library refused the arguments (a bug in lrkit: please report it)")
        if first >= 0:
            raise self._nonfinite(at(first), out[first])
        return out.tolist()

    @staticmethod
    def _int64_buffer(steps):
        """steps as a writable, C-contiguous int64 buffer: the caller's own
        when it is one (array('q'), a NumPy int64 array), else a new
        array('q')."""
        try:
            mv = memoryview(steps)
        except TypeError:
            mv = None
        if mv is not None and mv.ndim == 1 and mv.itemsize == 8 and mv.format in ("q", "l", "=q", "=l", "<q", "<l") \
                and mv.c_contiguous and not mv.readonly:
            return mv.cast("B").cast("q")
        try:
            ts = [operator.index(t) for t in steps]
        except TypeError as e:
            raise TypeError("steps: want whole numbers of steps (%s)" % e) from None
        try:
            return array.array("q", ts)
        except OverflowError:
            for t in ts:
                _step(t, "steps: step")
            raise
