#!/usr/bin/env python3
"""Recompute K steps of a dtrain residual-network run in float64 with PyTorch, and compare.

Independent of dtrain's code: the model is rebuilt here from the checkpoint's layer spec (convolutions
without bias with TensorFlow's 'same' padding, batch norm, basic blocks with option-A or projection
shortcuts, global average pooling, a dense layer), in torch float64 from the step-0 checkpoint. Each step:
the batch's groups of G samples (the run's --group-size: its ghost batch-norm batches) each go through the
network in training mode (batch norm normalizes with the group's own mean and biased variance, eps 1e-5);
the gradient is the sum over groups of the summed cross-entropy's gradient, divided by B; torch.optim.SGD
(momentum, dampening 0, weight decay, PyTorch form) applies it; each batch norm's running mean and variance
move 0.1 of the way to the average over groups of the group's mean and unbiased variance. The inputs are
the batches the run's workers saw (bench/reference/dump-batches.mjs).
Each step is recomputed from dtrain's own previous checkpoint (the run writes one every step), so a step's
error is measured without the ones before it, in float64 and, as a control, in PyTorch float32. The weights
and running statistics must agree with float64 to --tol (default 1e-4), or, on a step where a ReLU input
within float32 rounding of zero took the other side (which ones do differs between float32 implementations:
PyTorch's own float32 takes others), with float64 where that one ReLU's gradient mask is flipped: the
near-zero inputs are found in float64 and each candidate tried; exit 1 otherwise. All K steps from step 0 are also recomputed and
reported (training amplifies those near-ties; not gated). One JSON line per step, tensor group and mode.
Usage: python3 bench/reference/resnet_bn.py RUN K [--tol 1e-4]
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
EPS, MOMENTUM_BN = 1e-5, 0.1


def load(path, n):
    a = np.fromfile(path, dtype="<f4")
    assert a.size == n, f"{path}: {a.size} values, expected {n}"
    return torch.from_numpy(a.astype(np.float64))


def tensors(flat, manifest):
    out = {}
    for p in manifest:
        t = flat[p["offset"] : p["offset"] + p["length"]].reshape(p["shape"]).clone()
        out[p["name"]] = t
    return out


def conv_same(x, kernel_tf, stride):
    """TensorFlow's 'same' padding (the extra pixel on the bottom/right), kernel [kh, kw, cin, cout]."""
    k = kernel_tf.shape[0]
    h = x.shape[2]
    out = -(-h // stride)
    pad = max((out - 1) * stride + k - h, 0)
    x = F.pad(x, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))
    return F.conv2d(x, kernel_tf.permute(3, 2, 0, 1), stride=stride)


class Net:
    def __init__(self, spec, params, stats):
        self.spec, self.p, self.s = spec, params, stats

    def forward(self, x, moments, relu=F.relu):
        counters = {"conv": 0, "bn": 0, "dense": 0}

        def nxt(kind):
            counters[kind] += 1
            return counters[kind]

        def bn(h):
            j = nxt("bn")
            name = f"batch_normalization_{j}"
            if moments is None:
                mean, var = self.s[f"{name}/moving_mean"], self.s[f"{name}/moving_variance"]
            else:
                mean, var = h.mean(dim=(0, 2, 3)), h.var(dim=(0, 2, 3), unbiased=False)
                m = h.shape[0] * h.shape[2] * h.shape[3]
                moments.append((mean.detach(), var.detach() * m / (m - 1)))
            g, b = self.p[f"{name}/gamma"], self.p[f"{name}/beta"]
            eps = self.spec.get("bnEpsilon", EPS)
            return (h - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps) * g[None, :, None, None] + b[None, :, None, None]

        def convbn(h, stride, relu):
            y = bn(conv_same(h, self.p[f"conv2d_{nxt('conv')}/kernel"], stride))
            return self.relu(y) if relu else y

        self.relu = relu
        h = x
        for layer in self.spec["layers"]:
            t = layer["type"]
            if t == "convbn":
                h = convbn(h, layer["stride"], layer["relu"])
            elif t == "resblock":
                s, f = layer["stride"], layer["filters"]
                a = convbn(h, s, True)
                b = convbn(a, 1, False)
                changes = s != 1 or f != h.shape[1]
                if changes and layer["shortcut"] == "project":
                    short = convbn(h, s, False)
                else:
                    short = h[:, :, ::s, ::s]
                    extra = f - h.shape[1]
                    if extra:
                        short = F.pad(short, (0, 0, 0, 0, extra // 2, extra - extra // 2))
                h = self.relu(b + short)
            elif t == "gap":
                h = h.mean(dim=(2, 3))
            elif t == "dense":
                j = nxt("dense")
                h = h @ self.p[f"dense_{j}/kernel"] + self.p[f"dense_{j}/bias"]
                if layer["activation"] == "relu":
                    h = self.relu(h)
            else:
                raise SystemExit(f"layer {t} is not rebuilt here")
        return h


def rel(a, b):
    return float(torch.linalg.norm(a - b) / max(float(torch.linalg.norm(b)), 1e-30))


def group_size(config):
    B, G = config["batchSize"], config["groupSize"]
    if G == "auto":
        G = 1
        while G * 2 <= B / 8:
            G *= 2
    return G


class FlipRelu(torch.autograd.Function):
    """ReLU whose gradient mask is inverted at one element (its output is the same: that input is ~0)."""

    @staticmethod
    def forward(ctx, z, index):
        mask = (z > 0).reshape(-1).clone()
        mask[index] = ~mask[index]
        ctx.save_for_backward(mask.reshape(z.shape))
        return z.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g * mask, None


class Relus:
    """The ReLUs of one pass: counts the calls; records the inputs nearest zero (scan) or flips one (flip)."""

    def __init__(self, scan=False, flip=None):
        self.calls, self.scan, self.flip, self.near = 0, scan, flip, []

    def __call__(self, z):
        call, self.calls = self.calls, self.calls + 1
        if self.scan:
            margin = (z.detach().abs() / z.detach().pow(2).mean().sqrt()).reshape(-1)
            values, index = torch.topk(margin, 4, largest=False)
            self.near += [(float(v), call, int(i)) for v, i in zip(values, index)]
        if self.flip is not None and self.flip[0] == call:
            return FlipRelu.apply(z, self.flip[1])
        return F.relu(z)


def near_ties(run, step, count=6):
    """The `count` ReLU inputs of the step's groups nearest zero (relative to their layer's RMS), in float64."""
    state, params, stats, _, _, _, G = simulate(run, step - 1, 0)
    net = Net(state["modelSpec"], params, stats)
    x = step_batch(run, step, torch.float64)[0]
    near = []
    for g, g0 in enumerate(range(0, x.shape[0], G)):
        relus = Relus(scan=True)
        net.forward(x[g0 : g0 + G], [], relus)
        near += [(m, g, call, i) for m, call, i in relus.near]
    return sorted(near)[:count]


def step_batch(run, step, dtype):
    x = torch.from_numpy(np.fromfile(os.path.join(run, "reference-batches", f"step-{step}.x.f32"), dtype="<f4").astype(np.float64))
    y = torch.from_numpy(np.fromfile(os.path.join(run, "reference-batches", f"step-{step}.y.i32"), dtype="<i4").astype(np.int64))
    return x.reshape(-1, 32, 32, 3).permute(0, 3, 1, 2).to(dtype), y


def simulate(run, start, steps, dtype=torch.float64, flip=None):
    """
    From checkpoint `start` (weights, running statistics, velocity), `steps` steps in `dtype`; the tensors after
    them. flip (group, relu call, element): that ReLU's gradient taken the other way in step start + 1.
    """
    ck = lambda s: os.path.join(run, "checkpoints", f"step-{s:08d}")
    state = json.load(open(os.path.join(ck(start), "state.json")))
    manifest, config, spec = state["manifest"], state["config"], state["modelSpec"]
    is_stat = lambda n: n.endswith("/moving_mean") or n.endswith("/moving_variance")
    init = tensors(load(os.path.join(ck(start), "weights.f32"), state["paramCount"]), manifest)
    params = {n: t.to(dtype).requires_grad_() for n, t in init.items() if not is_stat(n)}
    stats = {n: t.to(dtype) for n, t in init.items() if is_stat(n)}
    opt = config["optimizer"]
    assert opt.get("kind", "momentum") in ("momentum", "sgd") and not opt.get("nesterov") and opt.get("dampening", 0) == 0
    assert config["schedule"] == "constant" and config.get("warmupSteps", 0) == 0
    sgd = torch.optim.SGD(list(params.values()), lr=config["lr"], momentum=opt["momentum"], weight_decay=opt["weightDecay"])
    trained = [p["name"] for p in manifest if not is_stat(p["name"])]
    vel_path = os.path.join(ck(start), "velocity.f32")
    if start > 0 and os.path.exists(vel_path):
        vel = tensors(load(vel_path, sum(p["length"] for p in manifest if not is_stat(p["name"]))), [p for p in manifest if not is_stat(p["name"])])
        for n in trained:
            sgd.state[params[n]]["momentum_buffer"] = vel[n].to(dtype).clone()
    net = Net(spec, params, stats)
    B, G = config["batchSize"], group_size(config)
    stat_names = [p["name"] for p in manifest if is_stat(p["name"])]
    for step in range(start + 1, start + steps + 1):
        x, y = step_batch(run, step, dtype)
        sgd.zero_grad()
        avg = None
        for g, g0 in enumerate(range(0, B, G)):
            moments = []
            flipped = flip is not None and step == start + 1 and flip[0] == g
            logits = net.forward(x[g0 : g0 + G], moments, Relus(flip=flip[1:]) if flipped else F.relu)
            (F.cross_entropy(logits, y[g0 : g0 + G], reduction="sum") / B).backward()
            c = min(G, B - g0)
            flat = [m for pair in moments for m in pair]
            avg = [c * m / B for m in flat] if avg is None else [a + c * m / B for a, m in zip(avg, flat)]
        sgd.step()
        for name, m in zip(stat_names, avg):
            stats[name].mul_(1 - MOMENTUM_BN).add_(MOMENTUM_BN * m)
    return state, params, stats, sgd, trained, stat_names, G


def checkpoint_tensors(run, state, step):
    d = os.path.join(run, "checkpoints", f"step-{step:08d}")
    return d, tensors(load(os.path.join(d, "weights.f32"), state["paramCount"]), state["manifest"])


def compare(run, start, steps):
    """
    Largest relative L2 difference per tensor group from the float64 recomputation to checkpoint start +
    steps (dtrain), and to the same recomputation in float32 (PyTorch's own float32: the control).
    """
    state, params, stats, sgd, trained, stat_names, G = simulate(run, start, steps)
    _, p32, s32, sgd32, _, _, _ = simulate(run, start, steps, torch.float32)
    manifest = state["manifest"]
    d, end = checkpoint_tensors(run, state, start + steps)
    f32 = lambda t: t.detach().double()
    worst = {
        "weights": [max(rel(end[n], params[n].detach()) for n in trained), max(rel(f32(p32[n]), params[n].detach()) for n in trained)],
        "running statistics": [max(rel(end[n], stats[n]) for n in stat_names), max(rel(f32(s32[n]), stats[n]) for n in stat_names)],
    }
    vel_path = os.path.join(d, "velocity.f32")
    if os.path.exists(vel_path):
        vel = load(vel_path, sum(p["length"] for p in manifest if p["name"] in trained))
        ref = torch.cat([sgd.state[params[n]]["momentum_buffer"].reshape(-1) for n in trained])
        ref32 = torch.cat([f32(sgd32.state[p32[n]]["momentum_buffer"]).reshape(-1) for n in trained])
        worst["velocity"] = [rel(vel, ref), rel(ref32, ref)]
    return worst, G, state["modelSpec"]["name"]


def tie_taken_the_other_way(run, step):
    """
    Of the step's ReLU inputs nearest zero (float64), the one whose gradient mask, taken the other way, brings
    float64 closest to dtrain's step: the group, the input's distance from zero relative to its layer's RMS,
    and the distances then. A float32 computation takes such a near-tie either way (which ones differs between
    float32 implementations); one flipped mask moves that group's gradient by ~1e-3.
    """
    best = None
    for margin, g, call, i in near_ties(run, step):
        state, params, stats, _, trained, stat_names, _ = simulate(run, step - 1, 1, flip=(g, call, i))
        _, end = checkpoint_tensors(run, state, step)
        r = {
            "weights": max(rel(end[n], params[n].detach()) for n in trained),
            "running statistics": max(rel(end[n], stats[n]) for n in stat_names),
        }
        if best is None or r["weights"] < best["maxRelL2"]["weights"]:
            best = {"group": g, "reluMargin": margin, "maxRelL2": r}
    return best


def main():
    run, k = sys.argv[1], int(sys.argv[2])
    tol = float(sys.argv[sys.argv.index("--tol") + 1]) if "--tol" in sys.argv else 1e-4
    name = os.path.basename(run.rstrip("/"))
    bad = False
    # Each step from dtrain's own previous checkpoint (its error alone, not compounded): dtrain must agree with
    # the float64 recomputation to tol, or with float64 where one ReLU input within float32 rounding of zero
    # takes the other side (tie_taken_the_other_way), to tol.
    for s in range(k):
        worst, G, model = compare(run, s, 1)
        near = all(worst[w][0] <= tol for w in ("weights", "running statistics"))
        tie = None if near else tie_taken_the_other_way(run, s + 1)
        for what, (r, r32) in worst.items():
            flipped = tie["maxRelL2"].get(what) if tie else None
            ok = what == "velocity" or r <= tol or (flipped is not None and flipped <= tol)
            line = {"run": name, "model": model, "step": s + 1, "groupSize": G, "mode": "from the previous checkpoint"}
            extra = {} if flipped is None else {"tie": {"group": tie["group"], "reluMargin": tie["reluMargin"], "maxRelL2": flipped}}
            print(json.dumps({**line, "tensors": what, "maxRelL2": r, "torchFloat32MaxRelL2": r32, **extra, "tol": tol, "ok": ok}))
            bad |= not ok
    # All K steps from step 0: training amplifies those ReLU near-ties (reported, not gated).
    worst, G, model = compare(run, 0, k)
    for what, (r, r32) in worst.items():
        line = {"run": name, "model": model, "steps": k, "groupSize": G, "mode": f"all {k} steps from step 0"}
        print(json.dumps({**line, "tensors": what, "maxRelL2": r, "torchFloat32MaxRelL2": r32}))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
