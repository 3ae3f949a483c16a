#!/usr/bin/env python3
"""A small PyTorch training script driven by lrkit, in the form lrkit's
benchmark runs a command workload: everything it needs comes from
environment variables, and it writes an lrkit run log.

    LRKIT_SPEC        the schedule spec (rates in full: the benchmark has
                      substituted the trial's ${peak}, ${steps}, ... into it)
    LRKIT_PEAK        the trial's peak rate (optional; the spec already holds
                      it; this script builds the optimizer with it and checks
                      that the schedule never goes above it)
    LRKIT_SEED        seed of the weights, the data and the batch order
                      (default 0)
    LRKIT_STEPS       the budget: optimizer updates to train
    LRKIT_RUNLOG      the run log to write, .csv or .jsonl
    LRKIT_EVAL_EVERY  evaluate every that many updates and after the last
                      (optional; default LRKIT_STEPS/10)

Run log: one record per update, with the rate of that update, the
training loss of its batch, the gradient norms (L2 and L1), the examples
seen and the training time so far (evaluation excluded); val_loss and
val_metric (accuracy, higher is better) on evaluation steps, measured after
that update. A diverged run (loss NaN or infinite) writes that record and
stops with exit status 0: the log says what happened. Bad settings exit
with status 2 and a message naming the variable.

The task: 4-class classification of Gaussian points in 8 dimensions,
labelled by a fixed random teacher network (tanh, 32 hidden units, input weights of scale 0.5), by a
2-layer MLP student, SGD with momentum 0.9; 4096 training and 1024
validation points, batches of 64.

    LRKIT_SPEC='warmup(cosine(peak=0.1, steps=300), steps=30)' LRKIT_STEPS=300 \
    LRKIT_RUNLOG=run.csv python3 examples/train_torch.py
"""

import math
import os
import sys
import time


def fail(msg):
    print("train_torch: " + msg, file=sys.stderr)
    sys.exit(2)


def env_int(name, default=None, minimum=0):
    v = os.environ.get(name, "")
    if v == "":
        if default is None:
            fail("%s is not set: want a whole number >= %d" % (name, minimum))
        return default
    try:
        n = int(v)
    except ValueError:
        fail("%s=%r: want a whole number >= %d" % (name, v, minimum))
    if n < minimum:
        fail("%s=%d: want a whole number >= %d" % (name, n, minimum))
    return n


def main():
    try:
        import lrkit
    except ImportError:  # not installed: the package next to this script, in a checkout
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))
        import lrkit

    spec = os.environ.get("LRKIT_SPEC", "")
    if not spec:
        fail("LRKIT_SPEC is not set: want a schedule spec, e.g. 'cosine(peak=0.1, steps=300)'")
    steps = env_int("LRKIT_STEPS", minimum=1)
    seed = env_int("LRKIT_SEED", default=0)
    every = env_int("LRKIT_EVAL_EVERY", default=max(1, steps // 10), minimum=1)
    path = os.environ.get("LRKIT_RUNLOG", "")
    if not path:
        fail("LRKIT_RUNLOG is not set: want the path of the run log to write (.csv or .jsonl)")
    try:
        schedule = lrkit.Schedule(spec)
    except ValueError as e:
        fail("LRKIT_SPEC: %s" % e)
    peak = None
    if os.environ.get("LRKIT_PEAK", ""):
        try:
            peak = float(os.environ["LRKIT_PEAK"])
        except ValueError:
            fail("LRKIT_PEAK=%r: want a rate > 0" % os.environ["LRKIT_PEAK"])
        if not (peak > 0 and math.isfinite(peak)):
            fail("LRKIT_PEAK=%r: want a rate > 0" % os.environ["LRKIT_PEAK"])
        top = max(schedule.values(range(steps)))
        if top > peak * (1 + 1e-12):
            fail("LRKIT_SPEC reaches %r, above LRKIT_PEAK=%r: the spec and the peak disagree" % (top, peak))

    try:
        import torch
    except ImportError as e:
        fail("needs torch (Debian: apt install python3-torch): %s" % e)
    import lrkit.torch

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    classes, dim, n_train, n_val, batch = 4, 8, 4096, 1024, 64
    # Labels from a fixed random teacher network (the same for every seed,
    # so seeds vary the data drawn, the weights and the order, not the
    # task): a nonlinear boundary the student learns over hundreds of
    # steps, not in ten as it would separated clusters.
    teacher = torch.Generator().manual_seed(12345)
    w1 = torch.randn(dim, 32, generator=teacher) * 0.5
    w2 = torch.randn(32, classes, generator=teacher)

    def sample(n):
        x = torch.randn(n, dim, generator=gen)
        return x, torch.argmax(torch.tanh(x @ w1) @ w2, dim=1)

    x_train, y_train = sample(n_train)
    x_val, y_val = sample(n_val)
    model = torch.nn.Sequential(torch.nn.Linear(dim, 64), torch.nn.ReLU(), torch.nn.Linear(64, classes))
    opt = torch.optim.SGD(model.parameters(), lr=peak if peak is not None else 0.0, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()

    try:
        log = lrkit.RunLog(path, fields=["lr", "loss", "grad_norm", "grad_norm_l1", "val_loss", "val_metric",
                                         "examples_seen", "wall_seconds"])
    except (ValueError, OSError) as e:
        fail("LRKIT_RUNLOG: %s" % e)
    sched = lrkit.torch.Scheduler(opt, schedule, log=log, grad_norms=True)
    order = torch.randperm(n_train, generator=gen)
    pos, train_time, seen = 0, 0.0, 0
    with log:
        for t in range(steps):
            start = time.perf_counter()
            if pos + batch > n_train:
                order, pos = torch.randperm(n_train, generator=gen), 0
            idx = order[pos:pos + batch]
            pos += batch
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            seen += batch
            train_time += time.perf_counter() - start
            lv = loss.item()
            sched.observe(loss=lv, examples_seen=seen, wall_seconds=train_time)
            diverged = not math.isfinite(lv)
            if (t + 1) % every == 0 or t + 1 == steps or diverged:
                with torch.no_grad():
                    out = model(x_val)
                    sched.observe(val_loss=loss_fn(out, y_val).item(),
                                  val_metric=(out.argmax(1) == y_val).double().mean().item())
            sched.step()
            if diverged:
                print("train_torch: diverged at step %d (loss %r)" % (t, lv), file=sys.stderr)
                break
    print("train_torch: %d steps of %s, seed %d: %s" % (sched.last_epoch, schedule, seed, path), file=sys.stderr)


if __name__ == "__main__":
    main()
