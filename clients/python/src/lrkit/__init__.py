"""lrkit for Python: learning-rate schedules with exactly lrkit's semantics,
a PyTorch scheduler, a client for ``lrkit serve`` and a run-log writer.

- ``lrkit.Schedule(spec)``: a schedule spec evaluated offline by lrkit's own
  schedule library (``lr(step)``, ``values(steps)``); a bad spec is a
  ValueError with lrkit's positioned message.
- ``lrkit.torch.Scheduler(optimizer, spec)``: a torch LR scheduler (needs
  torch; imported on first use of ``lrkit.torch``).
- ``lrkit.LrkitClient`` and ``lrkit.LrkitScheduler``: the HTTP client of
  ``lrkit serve`` (standard library only).
- ``lrkit.RunLog(path)``: writes lrkit's CSV or JSON Lines run logs.

Only ``Schedule`` needs the shared library (see ``lrkit._lib``); the rest
is standard library, so importing ``lrkit`` never fails for its lack.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._lib import LibraryNotFoundError
from .client import LrkitClient, LrkitError, LrkitScheduler, SpecMismatchError
from .runlog import RunLog
from .schedule import Schedule

__version__ = "0.1.0"

__all__ = ["LibraryNotFoundError", "LrkitClient", "LrkitError", "LrkitScheduler", "RunLog", "Schedule",
           "SpecMismatchError", "library_path"]


def library_path() -> str:
    """The path of the schedule library this process loads (loading it)."""
    from . import _lib
    return _lib.load().path


def __getattr__(name: str) -> Any:
    # lrkit.torch is imported when first used, so that importing lrkit
    # does not import torch.
    if name == "torch":
        return importlib.import_module(".torch", __name__)
    raise AttributeError("module 'lrkit' has no attribute %r" % name)
