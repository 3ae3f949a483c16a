#!/usr/bin/python3
"""Generate PyTorch learning-rate reference tables for lrkit's parity tests.

Run with Debian's interpreter, which has python3-torch:

    /usr/bin/python3 schedule/testdata/pytorch/gen.py

For every case below it builds the real torch.optim.lr_scheduler object on a
dummy SGD optimizer, runs the usual training loop

    for t in range(N + 1):
        record(t, optimizer.param_groups[0]["lr"])
        optimizer.step(); scheduler.step()

and writes <case>.csv with the header "step,lr" and one row per step, the
rate printed with repr() so that it reads back to the identical float64.
cases.csv lists every case: its name, the torch constructor call and the
equivalent lrkit spec. The lrkit spec text is kept here, next to the torch
call, so that the two are reviewed together; schedule/parity_pytorch_test.go
parses it and compares every step.
"""

import csv
import os
import sys

import torch
from torch.optim import lr_scheduler as sched

HERE = os.path.dirname(os.path.abspath(__file__))

# Each case: (name, base lr of the optimizer, torch constructor call as text
# evaluated with `opt` in scope, last step recorded, lrkit spec[, loop]),
# where loop is "step" (the default) or "epoch" (see record).
#
# The last step goes past the schedule's end (about 1.2 T, more for the
# periodic ones) so that the behaviour after T is pinned too. OneCycleLR
# raises on the step after total_steps, so its tables stop at T.
CASES = [
    ("steplr", 0.1, "sched.StepLR(opt, step_size=30, gamma=0.1)", 150,
     "step(peak=0.1, every=30, gamma=0.1)"),
    ("steplr_gamma_half", 2.0, "sched.StepLR(opt, step_size=7, gamma=0.5)", 100,
     "step(peak=2, every=7, gamma=0.5)"),
    ("multisteplr", 0.1, "sched.MultiStepLR(opt, milestones=[30, 60, 90], gamma=0.1)", 120,
     "multistep(peak=0.1, milestones=[30, 60, 90], gamma=0.1)"),
    ("multisteplr_repeated", 0.5,
     "sched.MultiStepLR(opt, milestones=[25, 50, 50, 80], gamma=0.5)", 120,
     "multistep(peak=0.5, milestones=[25, 50, 50, 80], gamma=0.5)"),
    ("exponentiallr", 0.1, "sched.ExponentialLR(opt, gamma=0.98)", 300,
     "exponential(peak=0.1, gamma=0.98)"),
    ("cosine", 0.1, "sched.CosineAnnealingLR(opt, T_max=100)", 120,
     "cosine(peak=0.1, steps=100, parity=pytorch)"),
    ("cosine_eta_min_long", 0.1, "sched.CosineAnnealingLR(opt, T_max=100, eta_min=0.001)", 450,
     "cosine(peak=0.1, floor=0.001, steps=100, parity=pytorch)"),
    ("sgdr_mult1", 0.1,
     "sched.CosineAnnealingWarmRestarts(opt, T_0=50, T_mult=1, eta_min=0.001)", 300,
     "sgdr(peak=0.1, floor=0.001, period=50, mult=1)"),
    ("sgdr_mult2", 0.1, "sched.CosineAnnealingWarmRestarts(opt, T_0=20, T_mult=2)", 400,
     "sgdr(peak=0.1, period=20, mult=2)"),
    ("sgdr_mult2_eta_min", 1.0,
     "sched.CosineAnnealingWarmRestarts(opt, T_0=10, T_mult=2, eta_min=0.05)", 400,
     "sgdr(peak=1, floor=0.05, period=10, mult=2)"),
    # step(epoch) path: PyTorch finds the cycle with a float logarithm and
    # lands in the wrong cycle at some exact restarts (epoch 111 for T_0=1,
    # T_mult=10; epoch 121 for T_0=1, T_mult=3).
    ("sgdr_epoch_path_mult10", 1.0,
     "sched.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=10, eta_min=0.01)", 1200,
     "sgdr(peak=1, floor=0.01, period=1, mult=10, parity=pytorch)", "epoch"),
    ("sgdr_epoch_path_mult3", 1.0,
     "sched.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=3)", 400,
     "sgdr(peak=1, period=1, mult=3, parity=pytorch)", "epoch"),
    ("cyclic_triangular", 0.1,
     "sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=50)", 400,
     "cyclic(low=0.01, high=0.1, up=50)"),
    ("cyclic_triangular2", 0.1,
     "sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=50, mode='triangular2')", 400,
     "cyclic(low=0.01, high=0.1, up=50, mode=triangular2)"),
    ("cyclic_exp_range", 0.1,
     "sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=50, mode='exp_range', gamma=0.995)",
     400, "cyclic(low=0.01, high=0.1, up=50, mode=exp_range, gamma=0.995)"),
    ("cyclic_asymmetric", 0.1,
     "sched.CyclicLR(opt, base_lr=0.01, max_lr=0.1, step_size_up=20, step_size_down=60)", 400,
     "cyclic(low=0.01, high=0.1, up=20, down=60)"),
    ("onecycle_cos", 0.1, "sched.OneCycleLR(opt, max_lr=0.1, total_steps=200)", 200,
     "onecycle(peak=0.1, steps=200, parity=pytorch)"),
    ("onecycle_linear", 0.1,
     "sched.OneCycleLR(opt, max_lr=0.1, total_steps=200, anneal_strategy='linear')", 200,
     "onecycle(peak=0.1, steps=200, shape=linear, parity=pytorch)"),
    ("onecycle_cos_three_phase", 0.1,
     "sched.OneCycleLR(opt, max_lr=0.1, total_steps=200, three_phase=True)", 200,
     "onecycle(peak=0.1, steps=200, phases=3, parity=pytorch)"),
    ("onecycle_linear_three_phase", 0.1,
     "sched.OneCycleLR(opt, max_lr=0.1, total_steps=200, anneal_strategy='linear', three_phase=True)",
     200, "onecycle(peak=0.1, steps=200, shape=linear, phases=3, parity=pytorch)"),
    ("onecycle_custom", 1.0,
     "sched.OneCycleLR(opt, max_lr=2.0, total_steps=333, pct_start=0.25, div_factor=10, "
     "final_div_factor=100)", 333,
     "onecycle(peak=2, steps=333, pct=0.25, div=10, final_div=100, parity=pytorch)"),
    ("linearlr_decay", 0.1,
     "sched.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)", 120,
     "linear(peak=0.1, floor=0.01, steps=100)"),
    ("linearlr_warmup", 0.1,
     "sched.LinearLR(opt, start_factor=0.25, end_factor=1.0, total_iters=40)", 60,
     "warmup(constant(peak=0.1), steps=40, start=0.25)"),
    ("polynomiallr_power1", 0.1, "sched.PolynomialLR(opt, total_iters=100, power=1.0)", 120,
     "polynomial(peak=0.1, steps=100, power=1)"),
    ("polynomiallr_power2", 0.1, "sched.PolynomialLR(opt, total_iters=100, power=2.0)", 120,
     "polynomial(peak=0.1, steps=100, power=2)"),
]


def record(base_lr, ctor, last, loop="step"):
    """Returns the optimizer's lr at steps 0..last under the torch scheduler.

    loop "step" calls scheduler.step() after each optimizer.step(), the
    usual way; loop "epoch" calls scheduler.step(t) with the step number
    instead (the explicit-epoch path some schedulers have).
    """
    param = torch.zeros(1, requires_grad=True)
    # Momentum lets CyclicLR and OneCycleLR cycle it (their default); it does
    # not touch the learning rate.
    opt = torch.optim.SGD([param], lr=base_lr, momentum=0.9)
    scheduler = eval(ctor, {"sched": sched, "opt": opt})
    lrs = []
    for t in range(last + 1):
        lrs.append(opt.param_groups[0]["lr"])
        if t == last:
            break
        opt.step()
        if loop == "epoch":
            scheduler.step(t + 1)
        else:
            scheduler.step()
    return lrs


def main():
    names = set()
    with open(os.path.join(HERE, "cases.csv"), "w", newline="") as f:
        manifest = csv.writer(f, lineterminator="\n")
        manifest.writerow(["case", "torch", "spec"])
        for case in CASES:
            name, base_lr, ctor, last, spec = case[:5]
            loop = case[5] if len(case) > 5 else "step"
            if name in names:
                sys.exit("duplicate case " + name)
            names.add(name)
            lrs = record(base_lr, ctor, last, loop)
            with open(os.path.join(HERE, name + ".csv"), "w", newline="") as g:
                g.write("step,lr\n")
                for t, lr in enumerate(lrs):
                    g.write("%d,%s\n" % (t, repr(float(lr))))
            call = "%s  # SGD(lr=%r), steps 0..%d, scheduler.step(%s)" % (
                ctor.replace("sched.", "torch.optim.lr_scheduler."), base_lr, last,
                "t" if loop == "epoch" else "")
            manifest.writerow([name, call, spec])
    print("torch %s: wrote %d cases to %s" % (torch.__version__, len(CASES), HERE))


if __name__ == "__main__":
    main()
