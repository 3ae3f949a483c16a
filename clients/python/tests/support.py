"""Shared helpers of the package's tests: the package on sys.path, the
lrkit binary, a real ``lrkit serve``.

Environment: LRKIT_BIN names the lrkit binary and LRKIT_LIBRARY the schedule
library (the Makefile's test-python target and the Go test
cmd/libschedule's TestPythonPackage set both); without them the binary is
built with ``go build`` and the library found as the package finds it (in
a checkout, ``make libschedule``).
"""

import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.normpath(os.path.join(HERE, ".."))  # clients/python
REPO = os.path.normpath(os.path.join(PKG, "..", ".."))
SRC = os.path.join(PKG, "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

_bin = None


def lrkit_bin():
    """The lrkit binary: $LRKIT_BIN, or one built once per test process."""
    global _bin
    b = os.environ.get("LRKIT_BIN")
    if b:
        return b
    if _bin is None:
        d = tempfile.mkdtemp(prefix="lrkit-bin-")
        _bin = os.path.join(d, "lrkit")
        go = shutil.which("go") or "/usr/local/go/bin/go"
        subprocess.run([go, "build", "-o", _bin, "./cmd/lrkit"], cwd=REPO, check=True)
    return _bin


def lrkit(*args, check=True):
    """Runs the lrkit CLI; returns (exit status, stdout, stderr)."""
    r = subprocess.run([lrkit_bin()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise AssertionError("lrkit %s: exit %d: %s" % (" ".join(args), r.returncode, r.stderr))
    return r.returncode, r.stdout, r.stderr


def lrkit_values(spec, steps, parity=None):
    """`lrkit values SPEC --at steps` as a list of (step, float, text)."""
    args = ["values", spec, "--at", ",".join(str(t) for t in steps)]
    if parity:
        args += ["--parity", parity]
    _, out, _ = lrkit(*args)
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["step", "lr"], rows[0]
    return [(int(r[0]), float(r[1]), r[1]) for r in rows[1:]]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A real `lrkit serve` process on a fresh database in a temp dir."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="lrkit-serve-")
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.proc = None
        self.token = None

    def start(self):
        self.proc = subprocess.Popen([lrkit_bin(), "serve", "--addr", "127.0.0.1:%d" % self.port,
                                      "--db", os.path.join(self.tmp, "lrkit.db")],
                                     stderr=subprocess.PIPE, text=True)
        while True:
            line = self.proc.stderr.readline()
            if not line:
                raise RuntimeError("lrkit serve exited (status %s)" % self.proc.wait())
            m = re.search(r"\(shown once\): (\S+)", line)
            if m:
                self.token = m.group(1)
            if "listening on" in line:
                break
        self.drain = threading.Thread(target=self.proc.stderr.read, daemon=True)
        self.drain.start()
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(15)
            self.drain.join(15)
            self.proc.stderr.close()
            self.proc = None
        shutil.rmtree(self.tmp, ignore_errors=True)
