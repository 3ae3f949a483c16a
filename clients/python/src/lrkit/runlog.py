"""Writing lrkit run logs from a Python training loop.

A run log is lrkit's one record type on disk (package runlog in Go): a
step's learning rate, loss, gradient norms, validation results and time.
``RunLog`` writes the two text formats exactly as lrkit's own writers do,
byte for byte:

- CSV (``.csv``): a header ``step,<fields>`` with a fixed set of columns in
  lrkit's column order; an absent value is an empty cell; NaN is ``NaN``,
  infinities ``+Inf`` and ``-Inf``.
- JSON Lines (``.jsonl`` or ``.ndjson``): one object a record with ``step``
  and the values present; NaN and infinities are the strings ``"NaN"``,
  ``"Infinity"`` and ``"-Infinity"``, so every line is valid JSON.

Floats are printed in the shortest form that reads back to the same
number, as Go's ``strconv.FormatFloat(v, 'g', -1, 64)`` prints them.
Steps are the 0-based optimizer update index and must increase; ``lr`` is
the rate used by that update. ``lrkit fit``, ``lrkit refine``, the
benchmark's command workloads and every other reader of run logs take the
files as they are.

    with RunLog("run.csv") as log:
        for step in range(steps):
            ...
            log.write(step, lr=lr, loss=loss.item(), grad_norm=gn)
"""

from __future__ import annotations

import json
import math
import operator
import os
import time
from typing import Any, Iterable, Mapping, Optional, SupportsIndex, Union

__all__ = ["FIELDS", "RunLog", "format_float"]

# The fields of a record besides step, in lrkit's column order (runlog's
# fieldInfo): the CSV header and the JSONL keys use these names.
FIELDS = ("lr", "loss", "grad_norm", "grad_norm_l1", "param_norm", "update_norm", "effective_lr",
          "val_loss", "val_metric", "examples_seen", "wall_seconds")

_INT64_MAX = (1 << 63) - 1


def format_float(v: float) -> str:
    """v as Go's strconv.FormatFloat(v, 'g', -1, 64) prints it: the
    shortest digits that read back exactly, in %e form ("1e-05",
    "1.234567e+06") when the decimal exponent is below -4 or at least 6
    (Go's rule for the shortest 'g' form), else in %f form ("0.0003",
    "100000"). NaN is "NaN", infinities "+Inf" and "-Inf"."""
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, v) < 0 else ""
    if v == 0:
        return sign + "0"
    # repr gives the shortest round-tripping digits (as Go's shortest
    # formatting does); take them apart into digits and a decimal point.
    r = repr(abs(v))
    mant, _, exp = r.partition("e")
    whole, _, frac = mant.partition(".")
    digits = whole + frac
    dp = len(whole) + (int(exp) if exp else 0)  # value = 0.<digits> * 10**dp
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    nd = len(digits)
    x = dp - 1  # the decimal exponent of the first digit
    if x < -4 or x >= 6:
        out = digits[0]
        if nd > 1:
            out += "." + digits[1:]
        out += "e" + ("-" if x < 0 else "+")
        ax = abs(x)
        out += ("0" + str(ax)) if ax < 10 else str(ax)
        return sign + out
    if dp > 0:
        out = digits[:dp] + "0" * max(dp - nd, 0)
    else:
        out = "0"
    prec = max(nd - dp, 0)
    if prec > 0:
        out += "." + "".join(digits[dp + i] if 0 <= dp + i < nd else "0" for i in range(prec))
    return sign + out


def _json_float(v):
    if v != v:
        return '"NaN"'
    if math.isinf(v):
        return '"Infinity"' if v > 0 else '"-Infinity"'
    return format_float(v)


def _check_fields(names, what):
    for n in names:
        if n not in FIELDS:
            hint = _nearest(n)
            raise ValueError("%s: unknown field %r%s; the fields are %s" % (
                what, n, ' (did you mean "%s"?)' % hint if hint else "", ", ".join(FIELDS)))


def _nearest(name):
    """The field nearest to name by edit distance, if close."""
    def dist(a, b):
        prev = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            cur = [i]
            for j, cb in enumerate(b, 1):
                cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
            prev = cur
        return prev[-1]
    aliases = {"learning_rate": "lr", "train_loss": "loss", "eval_loss": "val_loss", "val_acc": "val_metric",
               "val_accuracy": "val_metric", "time": "wall_seconds", "samples": "examples_seen"}
    if name.lower() in aliases:
        return aliases[name.lower()]
    best = min(FIELDS, key=lambda f: dist(name.lower(), f))
    return best if dist(name.lower(), best) <= max(2, len(name) // 3) else None


class RunLog:
    """A run-log writer: CSV or JSON Lines, told by the file name.

    ``fields``: the CSV columns besides step (default: every field; a CSV
    log has a fixed set of columns, and a record with a value outside them
    is an error rather than a lost value); JSONL writes whatever each
    record holds. ``wall_clock``: fill ``wall_seconds`` with the seconds
    since the log was opened when a record does not give it (give it
    yourself to leave evaluation time out). Records are buffered and
    flushed every ``flush_every`` records, on ``flush()`` and on
    ``close()``; use it as a context manager.
    """

    def __init__(self, path: Union[str, os.PathLike[str]], fields: Optional[Iterable[str]] = None,
                 wall_clock: bool = False, flush_every: int = 100) -> None:
        path = os.fspath(path)
        base = os.path.basename(path).lower()
        if base.endswith(".csv"):
            self.format = "csv"
        elif base.endswith(".jsonl") or base.endswith(".ndjson"):
            self.format = "jsonl"
        else:
            raise ValueError("%s: unknown run-log format: want a .csv, .jsonl or .ndjson file" % path)
        if fields is None:
            fields = FIELDS
        fields = list(fields)
        _check_fields(fields, "fields")
        self.fields = [f for f in FIELDS if f in fields]  # lrkit's column order
        self.path = path
        self.wall_clock = wall_clock
        self._t0 = time.monotonic()
        self._flush_every = max(1, int(flush_every))
        self._unflushed = 0
        self._last = None
        self._f = open(path, "w", encoding="utf-8", newline="")
        if self.format == "csv":
            self._f.write(",".join(["step"] + self.fields) + "\n")

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._f.closed

    def write(self, step: SupportsIndex, **values: Any) -> None:
        """Write the record of one step: ``write(12, lr=1e-3, loss=2.5)``.
        A value of None is absent. Steps must increase."""
        if self._f.closed:
            raise ValueError("%s: the run log is closed" % self.path)
        try:
            step = operator.index(step)
        except TypeError:
            raise TypeError("%s: step: want a whole number, got %r" % (self.path, step)) from None
        if step < 0 or step > _INT64_MAX:
            raise ValueError("%s: record step %d is %s" % (
                self.path, step, "negative" if step < 0 else "larger than 2**63-1"))
        if self._last is not None and step <= self._last:
            raise ValueError("%s: step %d is not after the previous step %d: steps must increase" % (
                self.path, step, self._last))
        _check_fields(values, "%s: record at step %d" % (self.path, step))
        if self.wall_clock and values.get("wall_seconds") is None:
            values["wall_seconds"] = time.monotonic() - self._t0
        rec = {}
        for k, v in values.items():
            if v is None:
                continue
            if k == "examples_seen":
                try:
                    n = operator.index(v)
                except TypeError:
                    f = float(v)
                    if not math.isfinite(f) or f != math.floor(f):
                        raise ValueError("%s: record at step %d: examples_seen %r is not a whole number" % (
                            self.path, step, v)) from None
                    n = int(f)
                if n < 0:
                    raise ValueError("%s: record at step %d: examples_seen %d is negative" % (self.path, step, n))
                rec[k] = n
            else:
                try:
                    rec[k] = float(v)
                except (TypeError, ValueError):
                    raise TypeError("%s: record at step %d: %s %r is not a number" % (
                        self.path, step, k, v)) from None
        if self.format == "csv":
            extra = [k for k in FIELDS if k in rec and k not in self.fields]
            if extra:
                raise ValueError("%s: record at step %d has %s, which this CSV log has no column for (its "
                                 "columns are step,%s)" % (self.path, step, "|".join(extra), ",".join(self.fields)))
            cells = [str(step)]
            for k in self.fields:
                if k not in rec:
                    cells.append("")
                elif k == "examples_seen":
                    cells.append(str(rec[k]))
                else:
                    cells.append(format_float(rec[k]))
            line = ",".join(cells) + "\n"
        else:
            parts = ['{"step":%d' % step]
            for k in FIELDS:
                if k in rec:
                    v = rec[k]
                    parts.append('"%s":%s' % (k, str(v) if k == "examples_seen" else _json_float(v)))
            line = ",".join(parts) + "}\n"
        self._f.write(line)
        self._last = step
        self._unflushed += 1
        if self._unflushed >= self._flush_every:
            self.flush()

    def write_record(self, record: Mapping[str, Any]) -> None:
        """Write a record given as a dict with "step" and field values (the
        JSON form of lrkit's metrics)."""
        record = dict(record)
        try:
            step = record.pop("step")
        except KeyError:
            raise ValueError("%s: record %s has no step" % (self.path, json.dumps(record))) from None
        self.write(step, **record)

    def flush(self) -> None:
        """Push written records to the file (and the operating system)."""
        self._f.flush()
        self._unflushed = 0

    def close(self) -> None:
        """Flush and close; closing twice is harmless."""
        if not self._f.closed:
            self._f.flush()
            self._f.close()
