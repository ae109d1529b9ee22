#!/usr/bin/env python3
"""Recompute a dtrain run's optimizer in float64 from the gradients it applied, and compare.

The run must have been made with --save-gradients K and a checkpoint at step K (and step 0):
  dtrain launch ... --max-steps K --save-gradients K --out RUN
Inputs: RUN/checkpoints/step-00000000/weights.f32 (start), RUN/gradients/step-N.f32 (the mean gradient of
each step, before clipping), the learning rate of each step from RUN/metrics.jsonl, and the optimizer from
the checkpoint's state.json. The reference is independent of dtrain's code: sgd, momentum, nesterov, adam
and adamw are PyTorch's own (torch.optim.SGD, Adam, AdamW, and torch.nn.utils.clip_grad_norm_), on float64
tensors; lars and lamb are written here from the papers' algorithm boxes (You et al. 2017, Algorithm 1;
You et al. 2019, Algorithm 2). Prints one JSON line per compared tensor group; exits 1 if any relative L2
difference exceeds --tol (default 1e-5).
Usage: python3 bench/reference/optimizers.py RUN [--tol 1e-5]
"""
import json
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def f32(path, n):
    a = np.fromfile(path, dtype="<f4")
    assert a.size == n, f"{path}: {a.size} values, expected {n}"
    return torch.from_numpy(a.astype(np.float64))


def ckpt_dir(run, step):
    return os.path.join(run, "checkpoints", f"step-{step:08d}")


def hyper(o):
    kind = o.get("kind") or ("sgd" if o["momentum"] == 0 else "nesterov" if o["nesterov"] else "momentum")
    return {
        "kind": kind,
        "beta1": o.get("beta1", 0.9),
        "beta2": o.get("beta2", 0.999),
        "eps": o.get("eps", 1e-6 if kind == "lamb" else 1e-8),
        "trust": o.get("trustCoefficient", 0.001),
        "exclude1d": o.get("exclude1d", kind in ("lars", "lamb")),
        "clip": o.get("clipGradNorm", 0) or 0,
    }


def torch_optimizer(o, h, params):
    """PyTorch's own optimizers, with 1-D tensors in a no-decay group when exclude1d."""
    wd = o["weightDecay"]
    groups = [{"params": [p for p in params if p.dim() > 1 or not h["exclude1d"]], "weight_decay": wd}]
    if h["exclude1d"]:
        groups.append({"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0})
    k = h["kind"]
    if k in ("sgd", "momentum", "nesterov"):
        assert o["form"] == "pytorch", "the reference covers the pytorch momentum form"
        return torch.optim.SGD(groups, lr=1.0, momentum=o["momentum"], dampening=o["dampening"],
                               nesterov=o["nesterov"])
    cls = torch.optim.Adam if k == "adam" else torch.optim.AdamW
    return torch.optim.Adam(groups, lr=1.0, betas=(h["beta1"], h["beta2"]), eps=h["eps"]) if k == "adam" else \
        cls(groups, lr=1.0, betas=(h["beta1"], h["beta2"]), eps=h["eps"])


class Lars:
    """You, Gitman, Ginsburg 2017, Algorithm 1: v = m v + γ λ (g + β w), w -= v, λ = η||w|| / (||g|| + β||w||)."""

    def __init__(self, o, h, params):
        self.o, self.h, self.params = o, h, params
        self.v = [torch.zeros_like(p) for p in params]

    def step(self, lr):
        for p, v in zip(self.params, self.v):
            plain = self.h["exclude1d"] and p.dim() <= 1
            beta = 0.0 if plain else self.o["weightDecay"]
            wn, gn = p.data.norm().item(), p.grad.norm().item()
            local = self.h["trust"] * wn / (gn + beta * wn) if not plain and wn > 0 and gn > 0 else 1.0
            v.mul_(self.o["momentum"]).add_(lr * local * (p.grad + beta * p.data))
            p.data.sub_(v)

    def buffers(self):
        return {"velocity": self.v}


class Lamb:
    """You et al. 2019, Algorithm 2: m, v with bias correction, r = m/(sqrt(v)+eps), w -= γ ||w||/||r+λw|| (r+λw)."""

    def __init__(self, o, h, params):
        self.o, self.h, self.params, self.t = o, h, params, 0
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    def step(self, lr):
        self.t += 1
        b1, b2, eps = self.h["beta1"], self.h["beta2"], self.h["eps"]
        for p, m, v in zip(self.params, self.m, self.v):
            plain = self.h["exclude1d"] and p.dim() <= 1
            lam = 0.0 if plain else self.o["weightDecay"]
            m.mul_(b1).add_((1 - b1) * p.grad)
            v.mul_(b2).add_((1 - b2) * p.grad * p.grad)
            r = (m / (1 - b1 ** self.t)) / ((v / (1 - b2 ** self.t)).sqrt() + eps)
            u = r + lam * p.data
            wn, un = p.data.norm().item(), u.norm().item()
            trust = wn / un if not plain and wn > 0 and un > 0 else 1.0
            p.data.sub_(lr * trust * u)

    def buffers(self):
        return {"adam-m": self.m, "adam-v": self.v}


def torch_buffers(opt, params, kind):
    st = [opt.state[p] for p in params]
    if kind in ("adam", "adamw"):
        return {"adam-m": [s["exp_avg"] for s in st], "adam-v": [s["exp_avg_sq"] for s in st]}
    if kind == "sgd":
        return {}
    return {"velocity": [s["momentum_buffer"] for s in st]}


def main():
    run = sys.argv[1]
    tol = float(sys.argv[sys.argv.index("--tol") + 1]) if "--tol" in sys.argv else 1e-5
    steps = sorted(int(f[5:13]) for f in os.listdir(os.path.join(run, "gradients")))
    k = steps[-1]
    assert steps == list(range(1, k + 1)), f"gradients of steps 1..{k} expected, found {steps}"
    state = json.load(open(os.path.join(ckpt_dir(run, k), "state.json")))
    o, manifest, n = state["config"]["optimizer"], state["manifest"], state["paramCount"]
    h = hyper(o)
    lrs = {r["step"]: r["lr"] for r in map(json.loads, open(os.path.join(run, "metrics.jsonl"))) if r.get("type") == "step"}
    flat = f32(os.path.join(ckpt_dir(run, 0), "weights.f32"), n)
    params = [torch.nn.Parameter(flat[e["offset"]:e["offset"] + e["length"]].clone().reshape(e["shape"]))
              for e in manifest]
    opt = Lars(o, h, params) if h["kind"] == "lars" else Lamb(o, h, params) if h["kind"] == "lamb" else \
        torch_optimizer(o, h, params)
    for s in steps:
        g = f32(os.path.join(run, "gradients", f"step-{s:08d}.f32"), n)
        for p, e in zip(params, manifest):
            p.grad = g[e["offset"]:e["offset"] + e["length"]].clone().reshape(e["shape"])
        if h["clip"] > 0:
            torch.nn.utils.clip_grad_norm_(params, h["clip"])
        if isinstance(opt, (Lars, Lamb)):
            opt.step(lrs[s])
        else:
            for group in opt.param_groups:
                group["lr"] = lrs[s]
            opt.step()
    ref = {"weights": params}
    ref.update(opt.buffers() if isinstance(opt, (Lars, Lamb)) else torch_buffers(opt, params, h["kind"]))
    worst = 0.0
    for name, tensors in ref.items():
        ours = f32(os.path.join(ckpt_dir(run, k), f"{name}.f32"), n)
        theirs = torch.cat([t.detach().reshape(-1) for t in tensors])
        rel = ((ours - theirs).norm() / theirs.norm()).item()
        worst = max(worst, rel)
        print(json.dumps({"run": os.path.basename(run.rstrip("/")), "optimizer": h["kind"], "steps": k,
                          "tensor": name, "relL2": rel, "tol": tol, "ok": rel <= tol}))
    sys.exit(0 if worst <= tol else 1)


if __name__ == "__main__":
    main()
