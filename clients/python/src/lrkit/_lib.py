"""Loading lrkit's schedule library (cmd/libschedule, built with
``go build -buildmode=c-shared``) with ctypes.

The library is looked for, in order:

1. at ``$LRKIT_LIBRARY``, when that is set (and nowhere else);
2. next to this file, where a wheel or ``pip install`` puts it;
3. in a source checkout (this file under ``clients/python/src/lrkit`` of an
   lrkit repository): ``make libschedule`` is run there first, which builds
   ``bin/liblrkit_schedule.so`` when it is missing or older than its Go
   sources and does nothing otherwise (``LRKIT_NO_BUILD=1`` skips it).

When none of these gives a library, ``LibraryNotFoundError`` says how to
build one. The library is loaded once per process, on first use, so
importing ``lrkit`` never needs it (the HTTP client and the run-log writer
work without it).
"""

import ctypes
import os
import subprocess
import threading

LIBRARY_NAME = "liblrkit_schedule.so"
ABI_VERSION = 1  # cmd/libschedule's abiVersion

_HERE = os.path.dirname(os.path.abspath(__file__))

BUILD_HELP = (
    "build it from an lrkit checkout with `make libschedule` (needs Go and a C compiler; "
    "it writes bin/%s), then reinstall the package (`pip install --no-build-isolation "
    "./clients/python`, which ships the library) or set LRKIT_LIBRARY to the library's path" % LIBRARY_NAME
)


class LibraryNotFoundError(OSError):
    """lrkit's schedule library is missing, cannot be loaded or is stale."""


_lock = threading.Lock()
_lib = None


def _repo_root():
    """The lrkit checkout this file belongs to, or None when installed."""
    root = os.path.normpath(os.path.join(_HERE, "..", "..", "..", ".."))
    try:
        with open(os.path.join(root, "go.mod")) as f:
            first = f.readline()
    except OSError:
        return None
    if first.strip() != "module github.com/lrkit/lrkit" or not os.path.exists(os.path.join(root, "Makefile")):
        return None
    return root


def _make(root):
    """Runs ``make libschedule`` in the checkout, under a lock file so that
    processes starting at once do not build over each other. Returns an
    error message, or None."""
    import fcntl  # POSIX only, like the library itself

    os.makedirs(os.path.join(root, "bin"), exist_ok=True)
    with open(os.path.join(root, "bin", ".libschedule.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        # A make of its own, not a sub-make of one that runs this process.
        env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
        try:
            r = subprocess.run(["make", "--no-print-directory", "-s", "-C", root, "libschedule"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        except OSError as e:
            return "`make -C %s libschedule` could not run: %s" % (root, e)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if r.returncode != 0:
        tail = "\n".join(r.stdout.strip().splitlines()[-15:])
        return "`make -C %s libschedule` failed (exit %d):\n%s" % (root, r.returncode, tail)
    return None


def find_library():
    """The path of the library to load; raises LibraryNotFoundError."""
    env = os.environ.get("LRKIT_LIBRARY")
    if env:
        if not os.path.isfile(env):
            raise LibraryNotFoundError(
                "lrkit: LRKIT_LIBRARY is %s, which is not a file; %s" % (env, BUILD_HELP))
        return env
    shipped = os.path.join(_HERE, LIBRARY_NAME)
    if os.path.isfile(shipped):
        return shipped
    root = _repo_root()
    if root is not None:
        built = os.path.join(root, "bin", LIBRARY_NAME)
        problem = None
        if os.environ.get("LRKIT_NO_BUILD", "") in ("", "0"):
            problem = _make(root)
        if os.path.isfile(built) and problem is None:
            return built
        raise LibraryNotFoundError(
            "lrkit: the schedule library %s is not built in the checkout %s%s; %s" % (
                LIBRARY_NAME, root, (": " + problem) if problem else " (LRKIT_NO_BUILD is set)", BUILD_HELP))
    raise LibraryNotFoundError(
        "lrkit: the schedule library %s was not found (looked next to the package in %s; LRKIT_LIBRARY is "
        "not set); %s" % (LIBRARY_NAME, _HERE, BUILD_HELP))


def _declare(lib):
    c = ctypes
    lib.lrkit_abi_version.argtypes = []
    lib.lrkit_abi_version.restype = c.c_int
    lib.lrkit_parse.argtypes = [c.c_char_p, c.c_size_t, c.c_char_p, c.c_size_t, c.POINTER(c.c_void_p)]
    lib.lrkit_parse.restype = c.c_size_t  # uintptr_t
    lib.lrkit_lr.argtypes = [c.c_size_t, c.c_int64]
    lib.lrkit_lr.restype = c.c_double
    lib.lrkit_values.argtypes = [c.c_size_t, c.c_void_p, c.c_int64, c.c_void_p]
    lib.lrkit_values.restype = c.c_int64
    lib.lrkit_range.argtypes = [c.c_size_t, c.c_int64, c.c_int64, c.c_int64, c.c_void_p]
    lib.lrkit_range.restype = c.c_int64
    # Strings the library returns are malloc'ed: take them as void pointers
    # so that they can be freed after reading.
    lib.lrkit_string.argtypes = [c.c_size_t]
    lib.lrkit_string.restype = c.c_void_p
    lib.lrkit_json.argtypes = [c.c_size_t, c.POINTER(c.c_void_p)]
    lib.lrkit_json.restype = c.c_void_p
    lib.lrkit_free.argtypes = [c.c_size_t]
    lib.lrkit_free.restype = None
    lib.lrkit_free_string.argtypes = [c.c_void_p]
    lib.lrkit_free_string.restype = None


def load():
    """The loaded library (loaded on the first call)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = find_library()
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                raise LibraryNotFoundError("lrkit: cannot load %s: %s; %s" % (path, e, BUILD_HELP)) from None
            try:
                _declare(lib)
            except AttributeError as e:
                raise LibraryNotFoundError("lrkit: %s is not lrkit's schedule library (%s); %s" % (
                    path, e, BUILD_HELP)) from None
            v = lib.lrkit_abi_version()
            if v != ABI_VERSION:
                raise LibraryNotFoundError(
                    "lrkit: %s has C API version %d, this package wants %d (a library from another lrkit "
                    "version); %s" % (path, v, ABI_VERSION, BUILD_HELP))
            lib.path = path
            _lib = lib
    return _lib


def take_string(lib, ptr):
    """Decodes and frees a string returned by the library."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib.lrkit_free_string(ptr)
