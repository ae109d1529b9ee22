import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OptimizerConfig, sgdStep, TrainerError, validateOptimizer } from '@dtrain/common';

const cfg = (o: Partial<OptimizerConfig>): OptimizerConfig => ({
  momentum: 0,
  dampening: 0,
  nesterov: false,
  weightDecay: 0,
  form: 'pytorch',
  ...o,
});
const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) =>
  b.forEach((x, i) => assert.ok(Math.abs(a[i]! - x) < tol, `index ${i}: ${a[i]} vs ${x}`));

test('plain SGD: θ -= lr*g', () => {
  const w = new Float32Array([1, -2]);
  sgdStep(cfg({}), 0.1, w, new Float32Array([0.5, -1]), new Float32Array(2));
  close(w, [0.95, -1.9]);
});

test('momentum (pytorch, dampening 0), two steps by hand', () => {
  // μ=0.9, lr=0.1, θ0=1, g1=1, g2=0.5
  // step 1: v = 0.9*0 + 1 = 1;         θ = 1 - 0.1*1 = 0.9
  // step 2: v = 0.9*1 + 0.5 = 1.4;     θ = 0.9 - 0.1*1.4 = 0.76
  const w = new Float32Array([1]);
  const v = new Float32Array(1);
  const c = cfg({ momentum: 0.9 });
  sgdStep(c, 0.1, w, new Float32Array([1]), v);
  close(w, [0.9]);
  close(v, [1]);
  sgdStep(c, 0.1, w, new Float32Array([0.5]), v);
  close(w, [0.76]);
  close(v, [1.4]);
});

test('nesterov, two steps by hand', () => {
  // μ=0.9, lr=0.1, θ0=1, g1=1, g2=0.5
  // step 1: v = 1;   d = g + μv = 1 + 0.9 = 1.9;      θ = 1 - 0.19 = 0.81
  // step 2: v = 0.9 + 0.5 = 1.4; d = 0.5 + 1.26 = 1.76; θ = 0.81 - 0.176 = 0.634
  const w = new Float32Array([1]);
  const v = new Float32Array(1);
  const c = cfg({ momentum: 0.9, nesterov: true });
  sgdStep(c, 0.1, w, new Float32Array([1]), v);
  close(w, [0.81]);
  sgdStep(c, 0.1, w, new Float32Array([0.5]), v);
  close(w, [0.634]);
});

test('dampening and the EMA form, three steps by hand', () => {
  // β=0.5 as EMA (dampening = μ = 0.5), lr=1, θ0=0, g = 2, 2, 4
  // v1 = 0.5*0 + 0.5*2 = 1;  θ = -1
  // v2 = 0.5*1 + 0.5*2 = 1.5; θ = -2.5
  // v3 = 0.5*1.5 + 0.5*4 = 2.75; θ = -5.25
  for (const c of [cfg({ momentum: 0.5, form: 'ema' }), cfg({ momentum: 0.5, dampening: 0.5 })]) {
    const w = new Float32Array([0]);
    const v = new Float32Array(1);
    for (const g of [2, 2, 4]) sgdStep(c, 1, w, new Float32Array([g]), v);
    close(w, [-5.25]);
    close(v, [2.75]);
  }
});

test('keras form equals pytorch dampening 0 at constant lr', () => {
  const a = new Float32Array([0.3, -0.7]);
  const b = new Float32Array([0.3, -0.7]);
  const va = new Float32Array(2);
  const vb = new Float32Array(2);
  for (const g of [
    [1, 2],
    [0.5, -1],
    [-2, 0.25],
  ]) {
    sgdStep(cfg({ momentum: 0.9 }), 0.05, a, new Float32Array(g), va);
    sgdStep(cfg({ momentum: 0.9, form: 'keras' }), 0.05, b, new Float32Array(g), vb);
  }
  close(a, [...b], 1e-6);
});

test('weight decay is added to the gradient', () => {
  // wd=0.1, θ=2, g=0 -> g' = 0.2; θ = 2 - 0.5*0.2 = 1.9
  const w = new Float32Array([2]);
  sgdStep(cfg({ weightDecay: 0.1 }), 0.5, w, new Float32Array([0]), new Float32Array(1));
  close(w, [1.9]);
});

test('bad optimizer settings are refused with a code', () => {
  assert.throws(
    () => validateOptimizer(cfg({ momentum: 1 })),
    (e: TrainerError) => e.code === 'ERR_BAD_CONFIG',
  );
  assert.throws(() => validateOptimizer(cfg({ momentum: 0, nesterov: true })), /nesterov/);
  assert.throws(() => validateOptimizer(cfg({ momentum: 0.9, dampening: 0.1, nesterov: true })), /dampening = 0/);
  assert.throws(
    () => sgdStep(cfg({}), 0.1, new Float32Array(2), new Float32Array(3), new Float32Array(2)),
    /lengths differ/,
  );
});
