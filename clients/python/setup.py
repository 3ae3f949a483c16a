"""Build step of the lrkit package: ships lrkit's schedule library.

The metadata is in pyproject.toml; this file only adds the library to the
package. build_py takes it from, in order:

- $LRKIT_LIBRARY, when set (a library built beforehand);
- the lrkit checkout this directory is in: ``make libschedule`` there
  (needs Go and a C compiler), which writes bin/liblrkit_schedule.so.

Without either, the build fails with a message saying so.
LRKIT_NO_LIBRARY=1 builds a package without the library (the client and
the run-log writer only; lrkit.Schedule then says how to build it). A wheel with the library is tagged for this platform and any
Python 3 (the library does not use Python's C API).
"""

import os
import shutil
import subprocess

import setuptools
from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from wheel.bdist_wheel import bdist_wheel
except ImportError:  # no wheel package: pip's legacy install path
    bdist_wheel = None

HERE = os.path.dirname(os.path.abspath(__file__))
LIBRARY = "liblrkit_schedule.so"


def _checkout():
    root = os.path.normpath(os.path.join(HERE, "..", ".."))
    try:
        with open(os.path.join(root, "go.mod")) as f:
            if f.readline().strip() == "module github.com/lrkit/lrkit":
                return root
    except OSError:
        pass
    return None


def _no_library():
    return os.environ.get("LRKIT_NO_LIBRARY", "") not in ("", "0")


def _library():
    """The path of the library to ship, or None with LRKIT_NO_LIBRARY=1."""
    if _no_library():
        return None
    env = os.environ.get("LRKIT_LIBRARY")
    if env:
        if not os.path.isfile(env):
            raise SystemExit("lrkit: LRKIT_LIBRARY is %s, which is not a file" % env)
        return env
    root = _checkout()
    if root is None:
        raise SystemExit("lrkit: this source tree is not inside an lrkit checkout, so the schedule library "
                         "cannot be built here: set LRKIT_LIBRARY to a built %s (make libschedule in a "
                         "checkout), or LRKIT_NO_LIBRARY=1 for a package without offline schedules" % LIBRARY)
    try:
        r = subprocess.run(["make", "--no-print-directory", "-C", root, "libschedule"])
        failed = r.returncode != 0
    except OSError as e:
        print("lrkit: make: %s" % e)
        failed = True
    built = os.path.join(root, "bin", LIBRARY)
    if failed or not os.path.isfile(built):
        raise SystemExit("lrkit: `make -C %s libschedule` failed: the schedule library needs Go (/usr/local/go) "
                         "and a C compiler (gcc); or set LRKIT_NO_LIBRARY=1 for a package without offline "
                         "schedules" % root)
    return built


class BuildPy(build_py):
    def run(self):
        # pip builds in the source tree: drop what an earlier build left in
        # build/lib, so that a module deleted since is not shipped.
        shutil.rmtree(os.path.join(self.build_lib, "lrkit"), ignore_errors=True)
        super().run()
        lib = _library()
        if lib is not None:
            dst = os.path.join(self.build_lib, "lrkit", LIBRARY)
            self.mkpath(os.path.dirname(dst))
            shutil.copyfile(lib, dst)
            os.chmod(dst, 0o755)


class Distribution(setuptools.Distribution):
    # A package with the library is not pure Python: its files go to
    # platlib and its wheel is tagged for this platform.
    def has_ext_modules(self):
        return not _no_library()


cmdclass = {"build_py": BuildPy}

if bdist_wheel is not None:
    class BdistWheel(bdist_wheel):
        def get_tag(self):
            python, abi, plat = super().get_tag()
            if not self.root_is_pure:
                python, abi = "py3", "none"
            return python, abi, plat

    cmdclass["bdist_wheel"] = BdistWheel

setup(distclass=Distribution, package_dir={"": "src"}, packages=["lrkit"], package_data={"lrkit": ["py.typed"]},
      cmdclass=cmdclass)
