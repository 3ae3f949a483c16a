"""The package installs from the repository into a fresh virtual
environment, offline, with Debian's pip, setuptools and wheel: the command
docs/python.md gives, and the wheel `make wheel` builds."""

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
import zipfile

from support import PKG

import lrkit as lk

CHECK = textwrap.dedent("""
    import json, sys
    import lrkit
    out = {"file": lrkit.__file__, "lib": lrkit.library_path(),
           "values": lrkit.Schedule("warmup(cosine(peak=0.1, steps=90), steps=10)").values(range(0, 101, 5))}
    try:
        import torch, lrkit.torch
        p = torch.nn.Parameter(torch.zeros(1))
        out["torch"] = lrkit.torch.Scheduler(torch.optim.SGD([p], lr=1.0), "constant(peak=0.25)").get_last_lr()
    except ImportError as e:
        out["torch"] = str(e)
    print(json.dumps(out))
""")


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lrkit-install-")
        cls.venv = os.path.join(cls.tmp, "venv")
        subprocess.run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", cls.venv], check=True)
        cls.py = os.path.join(cls.venv, "bin", "python")
        cls.env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        cls.env.pop("PYTHONPATH", None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pip(self, *args):
        r = subprocess.run([self.py, "-m", "pip"] + list(args), env=self.env, cwd=self.tmp,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(r.returncode, 0, r.stdout)
        return r.stdout

    def check(self):
        import json
        env = {k: v for k, v in self.env.items() if k not in ("LRKIT_LIBRARY", "LRKIT_NO_BUILD")}
        r = subprocess.run([self.py, "-c", CHECK], env=env, cwd=self.tmp, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        site = os.path.join(self.venv, "lib")
        self.assertTrue(out["file"].startswith(site), out["file"])  # not the source tree
        self.assertTrue(out["lib"].startswith(site), out["lib"])  # the library the package ships
        self.assertEqual(os.path.basename(out["lib"]), "liblrkit_schedule.so")
        self.assertEqual(out["values"], lk.Schedule("warmup(cosine(peak=0.1, steps=90), steps=10)").values(
            range(0, 101, 5)))
        self.assertEqual(out["torch"], [0.25])  # Debian's torch, seen through --system-site-packages

    def test_pip_install_from_repo(self):
        # The documented command. LRKIT_LIBRARY (set by the test targets)
        # saves setup.py's `make libschedule`.
        out = self.pip("install", "--no-index", "--no-build-isolation", PKG)
        self.assertIn("Successfully installed lrkit-0.1.0", out)
        self.check()
        self.pip("uninstall", "-y", "lrkit")

    def test_wheel(self):
        dist = os.path.join(self.tmp, "wheel")
        self.pip("wheel", "--no-index", "--no-build-isolation", "--no-deps", "-w", dist, PKG)
        wheels = os.listdir(dist)
        self.assertEqual(wheels, ["lrkit-0.1.0-py3-none-linux_x86_64.whl"])
        whl = os.path.join(dist, wheels[0])
        with zipfile.ZipFile(whl) as z:
            names = sorted(n for n in z.namelist() if n.startswith("lrkit/"))
        self.assertEqual(names, ["lrkit/__init__.py", "lrkit/_lib.py", "lrkit/client.py", "lrkit/liblrkit_schedule.so",
                                 "lrkit/py.typed", "lrkit/runlog.py", "lrkit/schedule.py", "lrkit/torch.py"])
        self.pip("install", "--no-index", "--force-reinstall", whl)
        self.check()
        self.pip("uninstall", "-y", "lrkit")


if __name__ == "__main__":
    unittest.main()
