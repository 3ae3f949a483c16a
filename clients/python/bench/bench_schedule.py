#!/usr/bin/env python3
"""Cost of evaluating lrkit schedules from Python, side by side with a
pure-Python cosine of the same shape (the floor of any per-step Python
call). Run from clients/python:

    PYTHONPATH=src /usr/bin/python3 bench/bench_schedule.py

Prints microseconds per lr() call and nanoseconds per step of values()
over a range, a list and an int64 array, best of 5 repeats.
"""

import array
import math
import sys
import timeit

import lrkit

SPEC = "warmup(cosine(peak=0.1, steps=100000), steps=1000)"


def py_rate(t):
    if t < 1000:
        return 0.1 * t / 1000
    p = min(t - 1000, 100000) / 100000
    return 0.1 * (1 + math.cos(math.pi * p)) / 2


def best(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def main():
    s = lrkit.Schedule(SPEC)
    n = 1_000_000
    steps_list = list(range(n))
    steps_array = array.array("q", steps_list)
    rows = [
        ("lr(t), one call", best(lambda: s.lr(54321), 100_000) * 1e6, "us/call"),
        ("pure-Python cosine, one call", best(lambda: py_rate(54321), 100_000) * 1e6, "us/call"),
        ("values(range(1e6))", best(lambda: s.values(range(n)), 1) / n * 1e9, "ns/step"),
        ("values(list of 1e6)", best(lambda: s.values(steps_list), 1) / n * 1e9, "ns/step"),
        ("values(array('q') of 1e6)", best(lambda: s.values(steps_array), 1) / n * 1e9, "ns/step"),
        ("[pure-Python cosine(t) for t in range(1e6)]", best(lambda: [py_rate(t) for t in range(n)], 1) / n * 1e9,
         "ns/step"),
    ]
    print("library: %s" % lrkit.library_path())
    for name, v, unit in rows:
        print("%-46s %8.3f %s" % (name, v, unit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
