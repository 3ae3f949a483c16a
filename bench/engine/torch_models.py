#!/usr/bin/python3
"""PyTorch counterparts of lrkit's mnist-mlp and kjv-gpt models, timed the
way cmd/enginebench times lrkit: warm-up steps, then timed AdamW steps
at a constant rate (gradient clipping at 1.0 for kjv-gpt, as the workload
does), and one JSON line with steps/s and the process's peak RSS.

Run with Debian's interpreter (/usr/bin/python3, python3-torch) and
OPENBLAS_NUM_THREADS=1; the script sets torch.set_num_threads(2) unless
--threads says otherwise. Inputs are random batches of the right shape
(a pool of 8, reused), not the real data: data loading is not what is
being compared.
"""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class MLP(nn.Module):
    """784-256-256-10 with ReLU, like workload mnist-mlp."""

    def __init__(self):
        super().__init__()
        self.fc0 = nn.Linear(784, 256)
        self.fc1 = nn.Linear(256, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(F.relu(self.fc0(x)))))


class Block(nn.Module):
    """Pre-norm decoder block: x + Attn(LN(x)), then x + MLP(LN(x)),
    causal multi-head attention with a fused qkv projection and a tanh-GELU
    MLP, like train/nn.NewTransformerBlock."""

    def __init__(self, dim, heads, ffn, context):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.ln2 = nn.LayerNorm(dim)
        self.ff1 = nn.Linear(dim, ffn)
        self.ff2 = nn.Linear(ffn, dim)
        mask = torch.tril(torch.ones(context, context, dtype=torch.bool))
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x):
        b, t, d = x.shape
        h = self.heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q = q.view(b, t, h, d // h).transpose(1, 2)
        k = k.view(b, t, h, d // h).transpose(1, 2)
        v = v.view(b, t, h, d // h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // h))
        att = att.masked_fill(~self.mask[:t, :t], float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        y = y.transpose(1, 2).contiguous().view(b, t, d)
        x = x + self.out(y)
        return x + self.ff2(F.gelu(self.ff1(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    """Token embedding + learned positions, pre-norm blocks, final
    LayerNorm and a dense head, like workload.NewGPT."""

    def __init__(self, vocab, context=128, dim=128, heads=4, layers=2, ffn=512):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.randn(context, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, ffn, context) for _ in range(layers))
        self.lnf = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, vocab)

    def forward(self, idx):
        x = self.tok(idx) + self.pos[: idx.shape[1]]
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.lnf(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mnist-mlp", choices=["mnist-mlp", "kjv-gpt"])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vocab", type=int, default=72, help="kjv-gpt vocabulary size (lrkit's driver reports it)")
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--context", type=int, default=128)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    if a.model == "mnist-mlp":
        model = MLP()
        pool = [(torch.rand(a.batch, 784), torch.randint(0, 10, (a.batch,))) for _ in range(8)]
        clip = 0.0
        classes = 10
    else:
        model = GPT(a.vocab, context=a.context, layers=a.layers)
        pool = []
        for _ in range(8):
            seq = torch.randint(0, a.vocab, (a.batch, a.context + 1))
            pool.append((seq[:, :-1].contiguous(), seq[:, 1:].contiguous()))
        clip = 1.0
        classes = a.vocab
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=0.01)

    def step(i):
        x, y = pool[i % len(pool)]
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x).reshape(-1, classes), y.reshape(-1))
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        return loss.item()

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    last = 0.0
    for i in range(a.steps):
        last = step(i)
    el = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out = {"impl": "pytorch-" + torch.__version__, "model": a.model, "batch": a.batch, "steps": a.steps,
           "steps_per_s": a.steps / el, "peak_rss_mb": rss,
           "params": sum(p.numel() for p in model.parameters()), "final_loss": last, "threads": a.threads}
    if a.model == "kjv-gpt":
        out["vocab"] = a.vocab
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
