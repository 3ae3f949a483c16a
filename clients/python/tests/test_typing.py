"""The package ships py.typed, which tells type checkers (mypy, pyright)
to take its own annotations as its types: every public function and
method must then be annotated, parameters and return, or a strictly typed
training script sees Unknown/Any wherever it calls lrkit."""

import inspect
import os
import typing
import unittest

import support  # noqa: F401  (puts the package on sys.path)

import lrkit as lk
import lrkit.client
import lrkit.runlog
import lrkit.torch


def public_callables():
    mods = [(lk, lk.__all__), (lk.torch, lk.torch.__all__), (lk.runlog, ["format_float"]),
            (lk.client, ["same_spec"])]
    for mod, names in mods:
        for name in names:
            obj = getattr(mod, name)
            if not getattr(obj, "__module__", "").startswith("lrkit"):
                continue  # lrkit.torch.BASE: torch's own class
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr not in ("__init__", "__enter__", "__exit__", "__eq__"):
                        continue
                    if isinstance(member, property):
                        member = member.fget
                    if inspect.isfunction(member):
                        yield "%s.%s.%s" % (mod.__name__, name, attr), member
            elif inspect.isfunction(obj):
                yield "%s.%s" % (mod.__name__, name), obj


class AnnotationsTest(unittest.TestCase):
    def test_py_typed_shipped(self):
        self.assertTrue(os.path.isfile(os.path.join(os.path.dirname(lk.__file__), "py.typed")))

    def test_public_api_is_annotated(self):
        seen = 0
        for name, fn in public_callables():
            with self.subTest(name=name):
                seen += 1
                hints = typing.get_type_hints(fn)  # also: every annotation resolves
                params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
                self.assertEqual([p.name for p in params if p.name not in hints], [], "parameters without a type")
                self.assertIn("return", hints, "no return type")
        self.assertGreater(seen, 40)

    def test_types_are_the_runtime_ones(self):
        s = lk.Schedule("cosine(peak=0.1, steps=100)")
        self.assertIs(typing.get_type_hints(lk.Schedule.lr)["return"], float)
        self.assertIsInstance(s.lr(3), float)
        self.assertEqual(typing.get_type_hints(lk.Schedule.values)["return"], typing.List[float])
        self.assertTrue(all(isinstance(v, float) for v in s.values(range(5))))
        self.assertIsInstance(s.canonical, str)
        self.assertIsInstance(lk.library_path(), str)


if __name__ == "__main__":
    unittest.main()
