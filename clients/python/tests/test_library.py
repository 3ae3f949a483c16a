"""How the package finds lrkit's schedule library, and what it says when
it cannot. Each case runs in a fresh Python process (the library is loaded
once per process)."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

from support import SRC

import lrkit

PROBE = textwrap.dedent("""
    import sys
    import lrkit
    try:
        s = lrkit.Schedule("cosine(peak=1, steps=4)")
    except lrkit.LibraryNotFoundError as e:
        print("ERROR", e)
        sys.exit(3)
    print("OK", lrkit.library_path(), s.values(range(5)))
""")


def probe(pythonpath, env=None, cwd=None):
    e = {k: v for k, v in os.environ.items() if k not in ("LRKIT_LIBRARY", "LRKIT_NO_BUILD")}
    e["PYTHONPATH"] = pythonpath
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    e.update(env or {})
    r = subprocess.run([sys.executable, "-c", PROBE], env=e, cwd=cwd or tempfile.gettempdir(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return r.returncode, r.stdout.strip(), r.stderr


class LibraryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.real = lrkit.library_path()  # the library this test process uses
        cls.tmp = tempfile.mkdtemp(prefix="lrkit-lib-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def copy_package(self, where):
        """src/lrkit copied to where/lrkit, without any library."""
        dst = os.path.join(where, "lrkit")
        shutil.copytree(os.path.join(SRC, "lrkit"), dst, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
        return dst

    def test_missing_everywhere(self):
        site = os.path.join(self.tmp, "site")
        pkg = self.copy_package(site)
        code, out, err = probe(site)
        self.assertEqual(code, 3, out + err)
        self.assertEqual(out, "ERROR lrkit: the schedule library liblrkit_schedule.so was not found (looked next "
                              "to the package in %s; LRKIT_LIBRARY is not set); build it from an lrkit checkout "
                              "with `make libschedule` (needs Go and a C compiler; it writes "
                              "bin/liblrkit_schedule.so), then reinstall the package (`pip install "
                              "--no-build-isolation ./clients/python`, which ships the library) or set "
                              "LRKIT_LIBRARY to the library's path" % pkg)
        # The rest of the package works without it.
        r = subprocess.run([sys.executable, "-c", "import lrkit, lrkit.runlog, lrkit.client; print(lrkit.RunLog)"],
                           env=dict(os.environ, PYTHONPATH=site), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "<class 'lrkit.runlog.RunLog'>"), r.stderr)

    def test_shipped_next_to_package(self):
        site = os.path.join(self.tmp, "shipped")
        pkg = self.copy_package(site)
        shutil.copyfile(self.real, os.path.join(pkg, "liblrkit_schedule.so"))
        code, out, err = probe(site)
        self.assertEqual(code, 0, out + err)
        self.assertEqual(out, "OK %s [1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0]" % os.path.join(
            pkg, "liblrkit_schedule.so"))

    def test_env_points_nowhere(self):
        code, out, _ = probe(SRC, {"LRKIT_LIBRARY": "/nonexistent/liblrkit_schedule.so"})
        self.assertEqual(code, 3)
        self.assertTrue(out.startswith("ERROR lrkit: LRKIT_LIBRARY is /nonexistent/liblrkit_schedule.so, which is "
                                       "not a file; build it from an lrkit checkout with `make libschedule`"), out)

    def test_not_the_library(self):
        other = os.path.join(self.tmp, "libother.so")
        libc = subprocess.run(["gcc", "-print-file-name=libm.so.6"], stdout=subprocess.PIPE, text=True).stdout.strip()
        if not os.path.isabs(libc):
            libc = "/lib/x86_64-linux-gnu/libm.so.6"
        shutil.copyfile(libc, other)
        code, out, _ = probe(SRC, {"LRKIT_LIBRARY": other})
        self.assertEqual(code, 3)
        self.assertRegex(out, r"^ERROR lrkit: .*libother\.so is not lrkit's schedule library \(.*lrkit_abi_version.*"
                              r"\); build it from an lrkit checkout with `make libschedule`")
        bad = os.path.join(self.tmp, "garbage.so")
        with open(bad, "w") as f:
            f.write("not a shared library")
        code, out, _ = probe(SRC, {"LRKIT_LIBRARY": bad})
        self.assertEqual(code, 3)
        self.assertRegex(out, r"^ERROR lrkit: cannot load .*garbage\.so: .*; build it from an lrkit checkout with "
                              r"`make libschedule`")

    def fake_checkout(self, name, make_rule):
        """A directory shaped like an lrkit checkout whose Makefile's
        libschedule target runs make_rule; returns its src dir."""
        root = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(root, "clients", "python", "src"))
        with open(os.path.join(root, "go.mod"), "w") as f:
            f.write("module github.com/lrkit/lrkit\n\ngo 1.26\n")
        with open(os.path.join(root, "Makefile"), "w") as f:
            f.write("libschedule:\n\t%s\n" % make_rule)
        src = os.path.join(root, "clients", "python", "src")
        self.copy_package(src)
        return root, src

    def test_checkout_runs_make(self):
        # The loader runs `make libschedule` in the checkout and loads what
        # it built (here the rule copies the real library into bin/).
        root, src = self.fake_checkout("checkout", "mkdir -p bin && cp %s bin/liblrkit_schedule.so && echo built "
                                                   ">> make.log" % self.real)
        code, out, err = probe(src)
        self.assertEqual(code, 0, out + err)
        self.assertTrue(out.startswith("OK %s [1.0," % os.path.join(root, "bin", "liblrkit_schedule.so")), out)
        with open(os.path.join(root, "make.log")) as f:
            self.assertEqual(f.read(), "built\n")
        # LRKIT_NO_BUILD: no make, the library already built is used.
        code, out, err = probe(src, {"LRKIT_NO_BUILD": "1"})
        self.assertEqual(code, 0, out + err)
        with open(os.path.join(root, "make.log")) as f:
            self.assertEqual(f.read(), "built\n")

    def test_checkout_make_fails(self):
        root, src = self.fake_checkout("broken", "@echo 'go: command not found' && exit 127")
        code, out, _ = probe(src)
        self.assertEqual(code, 3)
        self.assertEqual(out, "ERROR lrkit: the schedule library liblrkit_schedule.so is not built in the checkout "
                              "%s: `make -C %s libschedule` failed (exit 2):\ngo: command not found\n"
                              "make: *** [Makefile:2: libschedule] Error 127; build it from an lrkit checkout with "
                              "`make libschedule` (needs Go and a C compiler; it writes bin/liblrkit_schedule.so), "
                              "then reinstall the package (`pip install --no-build-isolation ./clients/python`, "
                              "which ships the library) or set LRKIT_LIBRARY to the library's path" % (root, root))
        code, out, _ = probe(src, {"LRKIT_NO_BUILD": "1"})
        self.assertEqual(code, 3)
        self.assertIn("is not built in the checkout %s (LRKIT_NO_BUILD is set); build it from an lrkit checkout "
                      "with `make libschedule`" % root, out)


if __name__ == "__main__":
    unittest.main()
