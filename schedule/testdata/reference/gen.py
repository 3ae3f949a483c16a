#!/usr/bin/python3
"""Exact reference values for lrkit's schedule tests.

Every row of the reference tables in shared/spec/schedules.md (Tables A-I
and the value lists of sections 15-21) is recomputed here from the spec's
formulas with mpmath at 40 significant digits, independently of the Go
code, and written to exact.csv as

    table,case,step,spec,exact

where spec is the six-digit value printed in the spec and exact is the
high-precision value rounded to 17 significant digits. reference_test.go
checks the Go schedules against exact at relative tolerance 1e-9 and the
spec's printed value against exact at 5e-6 (six digits).

Run with Debian's interpreter (python3-mpmath):

    /usr/bin/python3 schedule/testdata/reference/gen.py
"""

import csv
import os

from mpmath import mp, mpf, cos, sqrt, exp, log, pi, floor, e as E

mp.dps = 40
HERE = os.path.dirname(os.path.abspath(__file__))
ROWS = []


def row(table, case, steps, spec, f):
    assert len(steps) == len(spec), case
    for t, s in zip(steps, spec):
        ROWS.append((table, case, t, s, f(mpf(t))))


def cl(t, T):
    return min(max(t, 0), T)


T = mpf(1000)
A = [0, 1, 250, 500, 999, 1000, 1200]


def lin(t):
    return 1 - cl(t, T) / T


row("A", "linear min 0", A, [1, 0.999, 0.75, 0.5, 0.001, 0, 0], lin)
row("A", "linear min 0.1", A, [1, 0.9991, 0.775, 0.55, 0.1009, 0.1, 0.1], lambda t: mpf("0.1") + mpf("0.9") * lin(t))
row("A", "poly p=2", A, [1, 0.998001, 0.5625, 0.25, 1e-06, 0, 0], lambda t: lin(t) ** 2)
row("A", "poly p=0.5 min 0.1", A, [1, 0.99955, 0.879423, 0.736396, 0.12846, 0.1, 0.1],
    lambda t: mpf("0.1") + mpf("0.9") * sqrt(lin(t)))
row("A", "ExponentialLR 0.995", A, [1, 0.995, 0.285608, 0.0815719, 0.00668741, 0.00665397, 0.00244173],
    lambda t: mpf("0.995") ** t)
row("A", "exp budget 1 to 0.01", A, [1, 0.995405, 0.316228, 0.1, 0.0100462, 0.01, 0.01],
    lambda t: mpf("0.01") ** (cl(t, T) / T))
row("A", "optax exp k=100 r=0.5", A, [1, 0.993092, 0.176777, 0.03125, 0.000983355, 0.000976562, 0.000244141],
    lambda t: mpf("0.5") ** (t / 100))
row("A", "optax exp staircase", A, [1, 1, 0.25, 0.03125, 0.00195312, 0.000976562, 0.000244141],
    lambda t: mpf("0.5") ** floor(t / 100))
row("A", "StepLR 300 0.1", A, [1, 1, 1, 0.1, 0.001, 0.001, 0.0001], lambda t: mpf("0.1") ** floor(t / 300))
row("A", "MultiStep 300/600/900", A, [1, 1, 1, 0.1, 0.001, 0.001, 0.001],
    lambda t: mpf("0.1") ** sum(1 for m in (300, 600, 900) if t >= m))

B = [0, 1, 99, 100, 250, 500, 999, 1000, 1200]
W = mpf(100)


def hf(after):
    return lambda t: t / W if t < W else after((t - W) / (T - W))


row("B", "HF linear", B, [0, 0.01, 0.99, 1, 0.833333, 0.555556, 0.00111111, 0, 0], hf(lambda q: max(0, 1 - q)))
row("B", "HF cosine", B, [0, 0.01, 0.99, 1, 0.933013, 0.586824, 3.04617e-06, 0, 0.116978],
    hf(lambda q: (1 + cos(pi * q)) / 2))
row("B", "HF cosine min_lr_rate 0.1", B, [0, 0.01, 0.99, 1, 0.939711, 0.628142, 0.100003, 0.1, 0.20528],
    hf(lambda q: mpf("0.1") + mpf("0.9") * (1 + cos(pi * q)) / 2))
row("B", "HF poly p=2 lr_end 1e-7", B, [0, 0.01, 0.99, 1, 0.694444, 0.308642, 1.33457e-06, 1e-07, 1e-07],
    hf(lambda q: (1 - mpf("1e-7")) * (1 - min(q, 1)) ** 2 + mpf("1e-7")))
row("B", "HF inverse_sqrt", B, [0, 0.01, 0.99, 1, 0.632456, 0.447214, 0.316386, 0.316228, 0.288675],
    lambda t: t / W if t < W else 1 / sqrt(t / W))
row("B", "HF inverse_sqrt timescale 400", B, [0, 0.01, 0.99, 1, 0.852803, 0.707107, 0.554914, 0.5547, 0.516398],
    lambda t: t / W if t < W else 1 / sqrt((t + 300) / 400))
row("B", "torch cosine", A, [1, 0.999998, 0.853553, 0.5, 2.4674e-06, 0, 0.0954915], lambda t: (1 + cos(pi * t / T)) / 2)
row("B", "optax cosine", A, [1, 0.999998, 0.853553, 0.5, 2.4674e-06, 0, 0], lambda t: (1 + cos(pi * cl(t, T) / T)) / 2)
row("B", "cosine min 0.1 clamped", A, [1, 0.999998, 0.868198, 0.55, 0.100002, 0.1, 0.1],
    lambda t: mpf("0.1") + mpf("0.9") * (1 + cos(pi * cl(t, T) / T)) / 2)

C = [0, 1, 50, 99, 100, 150, 299, 300, 700, 701]


def sgdr(m):
    def f(t):
        start, length = 0, 100
        while t >= start + length:
            start += length
            length *= m
        return (1 + cos(pi * (t - start) / length)) / 2
    return f


row("C", "sgdr mult 1", C, [1, 0.999753, 0.5, 0.00024672, 1, 0.5, 0.00024672, 1, 1, 0.999753], sgdr(1))
row("C", "sgdr mult 2", C, [1, 0.999753, 0.5, 0.00024672, 1, 0.853553, 6.16838e-05, 1, 1, 0.999996], sgdr(2))

D = [0, 1, 100, 200, 300, 400, 500, 600, 999, 1000]


def cyclic(up, down, g):
    def f(t):
        L = up + down
        p = t - L * floor(t / L)
        s = p / up if p <= up else 1 - (p - up) / down
        return mpf("0.1") + mpf("0.9") * s * g(t, floor(t / L) + 1)
    return f


row("D", "triangular", D, [0.1, 0.1045, 0.55, 1, 0.55, 0.1, 0.55, 1, 0.9955, 1], cyclic(200, 200, lambda t, c: 1))
row("D", "triangular2", D, [0.1, 0.1045, 0.55, 1, 0.55, 0.1, 0.325, 0.55, 0.323875, 0.325],
    cyclic(200, 200, lambda t, c: 1 / mpf(2) ** (c - 1)))
row("D", "exp_range 0.999", D, [0.1, 0.104495, 0.507156, 0.836784, 0.433318, 0.1, 0.372871, 0.593782, 0.429601, 0.430926],
    cyclic(200, 200, lambda t, c: mpf("0.999") ** t))
row("D", "triangular up 100 down 300", D, [0.1, 0.109, 1, 0.7, 0.4, 0.1, 1, 0.7, 0.703, 0.7], cyclic(100, 300, lambda t, c: 1))

Es = [0, 1, 150, 299, 300, 598, 650, 999, 1000]
INIT, LOW = mpf(1) / 25, mpf(1) / 25 / 10000


def anneal(shape, a, b, q):
    if shape == "linear":
        return a + (b - a) * q
    return b + (a - b) / 2 * (1 + cos(pi * q))


def torch_oc(shape, phases):
    def f(t):
        e1 = mpf("0.3") * T - 1
        ends = [(e1, INIT, 1), (T - 1, 1, LOW)] if phases == 2 else \
            [(e1, INIT, 1), (2 * mpf("0.3") * T - 2, 1, INIT), (T - 1, INIT, LOW)]
        start = mpf(0)
        for i, (end, a, b) in enumerate(ends):
            if t <= end or i == len(ends) - 1:
                return anneal(shape, a, b, (t - start) / (end - start))
            start = end
    return f


row("E", "torch cos", Es, [0.04, 0.0400265, 0.522522, 1, 0.999995, 0.613449, 0.497758, 4e-06, 9.03548e-06], torch_oc("cos", 2))
row("E", "torch linear", Es, [0.04, 0.0432107, 0.521605, 1, 0.998571, 0.572859, 0.498573, 4e-06, -0.00142457], torch_oc("linear", 2))
row("E", "torch cos 3-phase", Es, [0.04, 0.0400265, 0.522522, 1, 0.999974, 0.04, 0.0383633, 4e-06, 4.61371e-06], torch_oc("cos", 3))
row("E", "torch linear 3-phase", Es, [0.04, 0.0432107, 0.521605, 1, 0.996789, 0.04, 0.0348135, 4e-06, -9.57406e-05], torch_oc("linear", 3))


def optax_oc(shape, bounds):
    def f(t):
        prev, prev_v = 0, INIT
        for b, v in bounds:
            if t <= b:
                q = min(max((t - prev) / (b - prev), 0), 1)
                return anneal(shape, prev_v, v, q)
            prev, prev_v = b, v
        return bounds[-1][1]
    return f


Eo = [0, 150, 299, 300, 598, 999, 1000]
row("E", "optax cosine_onecycle", Eo, [0.04, 0.52, 0.999974, 1, 0.615633, 9.03548e-06, 4e-06],
    optax_oc("cos", [(300, 1), (1000, LOW)]))
row("E", "optax linear_onecycle", Eo, [0.04, 0.52, 0.9968, 1, 0.479855, 0.00027064, 4e-06],
    optax_oc("linear", [(300, 1), (850, INIT), (1000, LOW)]))

F = [0, 1, 250, 500, 999, 1000]


def rex(a):
    return lambda t: (1 - cl(t, T) / T) / (1 - a * cl(t, T) / T)


def uba(phi, floor_):
    def f(t):
        c = 1 + cos(pi * cl(t, T) / T)
        return floor_ + (1 - floor_) * 2 * c / (2 * phi + (2 - phi) * c)
    return f


row("F", "REX a=0.5", F, [1, 0.9995, 0.857143, 0.666667, 0.001998, 0], rex(mpf("0.5")))
row("F", "REX a=0.9", F, [1, 0.9999, 0.967742, 0.909091, 0.0099108, 0], rex(mpf("0.9")))
row("F", "UBA 0.5", F, [1, 0.999999, 0.958871, 0.8, 9.86952e-06, 0], uba(mpf("0.5"), 0))
row("F", "UBA 1", F, [1, 0.999999, 0.920991, 0.666667, 4.93479e-06, 0], uba(mpf(1), 0))
row("F", "UBA 2", F, [1, 0.999998, 0.853553, 0.5, 2.4674e-06, 0], uba(mpf(2), 0))
row("F", "UBA 5", F, [1, 0.999994, 0.699823, 0.285714, 9.86961e-07, 0], uba(mpf(5), 0))
row("F", "UBA 0.5 min 0.1", F, [1, 0.999999, 0.962984, 0.82, 0.100009, 0.1], uba(mpf("0.5"), mpf("0.1")))

G = [0, 50, 799, 800, 850, 900, 950, 999, 1000]


def wsd(g, floor_=mpf(0), warm=lambda t: t / 100):
    def f(t):
        if t < 100:
            return warm(t)
        if t < 800:
            return mpf(1)
        if t >= 1000:
            return floor_
        return g((t - 800) / 200, t)
    return f


def ff(floor_, g):
    return lambda x, t: floor_ + (1 - floor_) * g(x)


row("G", "linear", G, [0, 0.5, 1, 1, 0.75, 0.5, 0.25, 0.005, 0], wsd(ff(0, lambda x: 1 - x)))
row("G", "cosine", G, [0, 0.5, 1, 1, 0.853553, 0.5, 0.146447, 6.16838e-05, 0], wsd(ff(0, lambda x: (1 + cos(pi * x)) / 2)))
row("G", "1-sqrt", G, [0, 0.5, 1, 1, 0.5, 0.292893, 0.133975, 0.00250313, 0], wsd(ff(0, lambda x: 1 - sqrt(x))))
row("G", "square", G, [0, 0.5, 1, 1, 0.9375, 0.75, 0.4375, 0.009975, 0], wsd(ff(0, lambda x: 1 - x * x)))
row("G", "1-sqrt min 0.1", G, [0, 0.5, 1, 1, 0.55, 0.363604, 0.220577, 0.102253, 0.1],
    wsd(ff(mpf("0.1"), lambda x: 1 - sqrt(x)), mpf("0.1")))
row("G", "exp half-life 20", G, [0, 0.5, 1, 1, 0.176777, 0.03125, 0.00552427, 0.001011, 0],
    wsd(lambda x, t: mpf("0.5") ** ((t - 800) / 20)))
row("G", "geometric to 0.01", G, [0, 0.5, 1, 1, 0.316228, 0.1, 0.0316228, 0.0102329, 0.01],
    wsd(lambda x, t: mpf("0.01") ** x, mpf("0.01")))
row("G", "HF wsd min_lr_ratio 0.1", G, [0.1, 0.55, 1, 1, 0.868198, 0.55, 0.231802, 0.100056, 0.1],
    wsd(ff(mpf("0.1"), lambda x: (1 + cos(pi * x)) / 2), mpf("0.1"), lambda t: mpf("0.1") + mpf("0.9") * t / 100))
row("G", "epfml sqrt", G, [0.01, 0.505, 1, 1, 0.5, 0.292893, 0.133975, 0.00250313, 0],
    wsd(ff(0, lambda x: 1 - sqrt(x)), 0, lambda t: t / 100 + (1 - t / 100) / 100))


def wsds(t):
    if t < 50:
        return t / 50
    for c in (400, 700, 1000):
        if t < c:
            d = mpf(c) / 10
            return 1 - (t - (c - d)) / d if t >= c - d else mpf(1)
    return mpf(0)


row("H", "wsds", [0, 50, 359, 360, 380, 399, 400, 629, 665, 700, 950, 999],
    [0, 1, 1, 1, 0.5, 0.025, 1, 1, 0.5, 1, 0.5, 0.01], wsds)


def wsdc(t):
    if t < 100:
        return t / 100
    if t < 600:
        return mpf(1)
    if t < 800:
        return mpf("0.1") + mpf("0.9") * (1 + cos(pi * (t - 600) / 200)) / 2
    return mpf("0.1")


row("L", "wsdc", [0, 50, 100, 600, 700, 799, 800, 5000], [0, 0.5, 1, 1, 0.55, 0.100056, 0.1, 0.1], wsdc)


def cpow(p, peak, floor_):
    def f(t):
        c = (1 + cos(pi * cl(t, T) / T)) / 2
        return floor_ + (peak - floor_) * (p ** (c + 1) - p) / (p * p - p)
    return f


row("L", "cosine_power p=2", F, [1, 0.999997, 0.806946, 0.414214, 1.71027e-06, 0], cpow(mpf(2), 1, 0))
row("L", "cosine_power p=10", F, [1, 0.999994, 0.681958, 0.240253, 6.31268e-07, 0], cpow(mpf(10), 1, 0))
row("L", "cosine_power p=10 0.1/1e-4", F, [0.1, 0.0999994, 0.0682276, 0.0241013, 0.000100063, 0.0001],
    cpow(mpf(10), mpf("0.1"), mpf("1e-4")))
row("L", "damped_cosine", [0, 100, 200, 400, 600, 800, 1000], [1, 0.370409, 0, 0.301194, 0, 0.090718, 0],
    lambda t: exp(-3 * t / T) * (1 + cos(5 * pi * t / T)) / 2)


def infinite(cool):
    def f(t):
        if t <= 50:
            return t / 50
        if t <= 150:
            return cool((t - 50) / 100)
        if t <= 800:
            return mpf("0.1")
        if t >= 1000:
            return mpf("0.01")
        return mpf("0.1") * mpf("0.1") ** ((t - 800) / 200)
    return f


def h(u):
    return 1 / sqrt(1 + 10 * u) - 1


I = [0, 25, 50, 100, 150, 500, 800, 900, 1000]
row("I", "infinite cosine", I, [0, 0.5, 1, 0.55, 0.1, 0.1, 0.1, 0.0316228, 0.01],
    infinite(lambda x: mpf("0.1") + mpf("0.9") * (1 + cos(pi * x)) / 2))
row("I", "infinite invsqrt", I, [0, 0.5, 1, 0.23753, 0.1, 0.1, 0.1, 0.0316228, 0.01],
    infinite(lambda x: 1 - mpf("0.9") * h(x) / h(1)))


def pw(n):  # n tokens
    return min(mpf("0.02"), 1024 * mpf("4.6") * n ** mpf("-0.51"))


TPS = mpf(10) ** 6
row("L", "power core", [1000, 100000, 1000000], [0.02, 0.0115627, 0.0035732], lambda t: pw(t * TPS))


def power_full(t):
    if t < 10000:
        return t / 10000 * pw(10000 * TPS)
    if t >= 1000000:
        return mpf(0)
    if t >= 900000:
        x = (t - 900000) / 100000
        return (E * exp(-x) - 1) / (E - 1) * pw(900000 * TPS)
    return pw(t * TPS)


row("L", "power full", [5000, 500000, 950000, 1000000], [0.01, 0.00508842, 0.0014235, 0], power_full)
B2 = mpf("0.999")
row("L", "untuned linear", [0, 1, 100, 1000, 2000], [0, 0.0005, 0.05, 0.5, 1], lambda t: min(1, (1 - B2) / 2 * t))
row("L", "untuned exp", [0, 1, 100, 1000, 2000], [0, 0.0009995, 0.0951626, 0.632121, 0.864665], lambda t: 1 - exp(-(1 - B2) * t))
RINF = 2 / (1 - B2) - 1


def rho(u):
    b = B2 ** u
    return RINF - 2 * u * b / (1 - b)


def radam(t):
    r = rho(t + 5)
    return sqrt((r - 4) * (r - 2) * RINF / ((RINF - 4) * (RINF - 2) * r))


row("L", "radam", [0, 1, 99, 999, 1999], [0.0173115, 0.0258211, 0.219788, 0.646377, 0.828887], radam)
row("L", "defazio", [0, 1, 499, 998, 999], [0.999001, 0.998002, 0.5005, 0.001998, 0.000999001],
    lambda t: 1 - (t + 1) / (T + 1))

with open(os.path.join(HERE, "exact.csv"), "w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["table", "case", "step", "spec", "exact"])
    for table, case, t, spec, v in ROWS:
        w.writerow([table, case, t, repr(spec), mp.nstr(v, 17, min_fixed=-1, max_fixed=-1) if v != 0 else "0"])
print("wrote %d rows" % len(ROWS))
