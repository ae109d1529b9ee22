// Each optimizer against steps worked out by hand in float64 (two steps, a 2-value kernel and a 1-value bias,
// lr 0.1, weight decay 0.01): the expected numbers come from the update rules written out in the comments of
// adaptive.ts and lars.ts, evaluated separately; float32 storage keeps agreement to about 1e-7.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clipGlobalNorm, type Manifest, Optimizer, type OptimizerConfig, stateNames } from '@dtrain/common';

const MANIFEST: Manifest = [
  { name: 'dense_1/kernel', shape: [2, 1], offset: 0, length: 2 },
  { name: 'dense_1/bias', shape: [1], offset: 2, length: 1 },
];
const GRADS = [
  [0.5, 1, -0.25],
  [0.25, -0.5, 0.1],
];
const base: OptimizerConfig = { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0.01, form: 'pytorch' };

function twoSteps(c: Partial<OptimizerConfig>): { theta: Float32Array; opt: Optimizer } {
  const opt = new Optimizer({ ...base, ...c }, MANIFEST);
  const theta = new Float32Array([1, -2, 0.5]);
  GRADS.forEach((g, i) => opt.step(i + 1, 0.1, theta, new Float32Array(g)));
  return { theta, opt };
}

const close = (actual: ArrayLike<number>, expected: number[], what: string) =>
  expected.forEach((x, i) =>
    assert.ok(Math.abs(actual[i]! - x) <= 1e-6 * Math.max(1, Math.abs(x)), `${what}[${i}]: ${actual[i]} vs ${x}`),
  );

test('adam: L2 decay in the gradient, bias-corrected moments (torch.optim.Adam)', () => {
  const { theta, opt } = twoSteps({ kind: 'adam' });
  close(theta, [0.8065550410499319, -2.124213190047835, 0.6319311995650776], 'θ');
  close(opt.state()['adam-m']!, [0.0718000000019607, 0.0361000000010204, -0.011450000004081631], 'm');
  close(opt.state()['adam-v']!, [0.0003269209000101572, 0.0012308805999893685, 7.1200974991347e-5], 'v');
});

test('adamw: decoupled decay; with exclude1d the bias is not decayed', () => {
  close(twoSteps({ kind: 'adamw' }).theta, [0.8048830404754623, -2.122535702630097, 0.6334610789797196], 'θ');
  const excluded = twoSteps({ kind: 'adamw', exclude1d: true }).theta;
  close(excluded, [0.8048830404754623, -2.122535702630097, 0.6345605789757196], 'θ excluding 1-D');
});

test('lamb: per-tensor trust ratio ||θ|| / ||r + λθ||; the bias takes a plain Adam step (excluded by default)', () => {
  close(twoSteps({ kind: 'lamb' }).theta, [0.6156366037706948, -2.213977451941894, 0.6345600032398415], 'θ');
  const all = twoSteps({ kind: 'lamb', exclude1d: false }).theta;
  close(all, [0.6156366037706948, -2.213977451941894, 0.6050000000000001], 'θ with the bias adapted');
});

test('lars: layer-wise rate eta ||w|| / (||g|| + β||w||) inside the velocity; the bias is plain momentum', () => {
  const { theta, opt } = twoSteps({ kind: 'lars', momentum: 0.9 });
  close(theta, [0.999709994916781, -2.0001650863643996, 0.5375], 'θ');
  close(opt.state()['velocity']!, [0.00019000508321899765, -2.7070498345504372e-5, -0.0125], 'v');
});

test('momentum SGD with exclude1d decays the kernel only', () => {
  const w = twoSteps({ kind: 'sgd', momentum: 0, exclude1d: true }).theta;
  // kernel: θ -= 0.1 (g + 0.01 θ) twice; bias: θ -= 0.1 g twice
  const k0 = 1 - 0.1 * (0.5 + 0.01 * 1);
  close(
    w,
    [
      k0 - 0.1 * (0.25 + 0.01 * k0),
      -2 - 0.1 * (1 - 0.02) - 0.1 * (-0.5 + 0.01 * (-2 - 0.1 * 0.98)),
      0.5 + 0.025 - 0.01,
    ],
    'θ',
  );
});

test('clipping by global norm scales by max / (norm + 1e-6) only when that is below 1', () => {
  const g = new Float32Array([3, 4]);
  assert.equal(clipGlobalNorm(g, 5), 5);
  close(g, [0.599999880000024 * 5, 0.799999840000032 * 5], 'at the limit: scaled by 5 / (5 + 1e-6)');
  const h = new Float32Array([3, 4]);
  clipGlobalNorm(h, 1);
  close(h, [0.599999880000024, 0.799999840000032], 'clipped to norm 1');
  const small = new Float32Array([0.3, 0.4]);
  clipGlobalNorm(small, 1);
  assert.deepEqual([...small], [new Float32Array([0.3])[0], new Float32Array([0.4])[0]], 'below the limit: untouched');
});

test('clipping applies before the update and reports the norm it clipped from', () => {
  const opt = new Optimizer({ ...base, weightDecay: 0, clipGradNorm: 1 }, MANIFEST);
  const theta = new Float32Array([0, 0, 0]);
  assert.equal(opt.step(1, 1, theta, new Float32Array([0, 3, 4])), 5);
  close(theta, [0, -0.6, -0.8], 'θ after a clipped plain step');
  assert.equal(new Optimizer(base, MANIFEST).step(1, 1, theta, new Float32Array(3)), null, 'off: null');
});

test('state names per kind, and a resumed state continues bitwise', () => {
  assert.deepEqual(stateNames(base), []);
  assert.deepEqual(stateNames({ ...base, momentum: 0.9 }), ['velocity']);
  assert.deepEqual(stateNames({ ...base, kind: 'lars', momentum: 0.9 }), ['velocity']);
  for (const kind of ['adam', 'adamw', 'lamb'] as const)
    assert.deepEqual(stateNames({ ...base, kind }), ['adam-m', 'adam-v']);
  for (const kind of ['adam', 'lamb', 'lars'] as const) {
    const c = { ...base, kind, momentum: kind === 'lars' ? 0.9 : 0 };
    const straight = twoSteps(c).theta;
    const first = new Optimizer(c, MANIFEST);
    const theta = new Float32Array([1, -2, 0.5]);
    first.step(1, 0.1, theta, new Float32Array(GRADS[0]!));
    const saved = Object.fromEntries(Object.entries(first.state()).map(([k, v]) => [k, Float32Array.from(v)]));
    new Optimizer(c, MANIFEST, saved).step(2, 0.1, theta, new Float32Array(GRADS[1]!));
    assert.deepEqual([...theta], [...straight], `${kind}: resumed after step 1 = straight through`);
  }
});

test('a state buffer of the wrong length is refused', () => {
  assert.throws(
    () => new Optimizer({ ...base, kind: 'adam' }, MANIFEST, { 'adam-m': new Float32Array(2) }),
    /adam-m has 2 values, the model 3/,
  );
});

test('an elementwise optimizer updates any range alone with the bits of the whole update; LARS, LAMB and clipping refuse', () => {
  const manifest: Manifest = [
    { name: 'c/kernel', shape: [3, 3], offset: 0, length: 9 },
    { name: 'c/bias', shape: [3], offset: 9, length: 3 },
    { name: 'd/kernel', shape: [3, 2], offset: 12, length: 6 },
  ];
  const n = 18;
  const grads = [1, 2, 3].map((k) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin(k * 5 + i) * 10 ** ((i % 3) - 1)),
  );
  const kinds: Partial<OptimizerConfig>[] = [
    {},
    { momentum: 0.9 },
    { momentum: 0.9, nesterov: true },
    { momentum: 0.9, form: 'ema', dampening: 0.9 },
    { momentum: 0.9, form: 'keras' },
    { momentum: 0.9, exclude1d: true },
    { kind: 'adam', momentum: 0 },
    { kind: 'adamw', momentum: 0, exclude1d: true },
  ];
  for (const k of kinds) {
    const whole = new Optimizer({ ...base, ...k }, manifest);
    const ranged = new Optimizer({ ...base, ...k }, manifest);
    const [a, b] = [
      Float32Array.from({ length: n }, (_, i) => 1 - i / 7),
      Float32Array.from({ length: n }, (_, i) => 1 - i / 7),
    ];
    grads.forEach((g, t) => {
      whole.step(t + 1, 0.1, a, g);
      for (const [from, to] of [
        [0, 5],
        [5, 11],
        [11, 18],
      ])
        ranged.stepRange(t + 1, 0.1, b, g, from!, to!);
    });
    assert.deepEqual(b, a, JSON.stringify(k));
    assert.deepEqual(ranged.state(), whole.state(), JSON.stringify(k));
  }
  for (const k of [
    { kind: 'lars' as const, momentum: 0.9 },
    { kind: 'lamb' as const, momentum: 0 },
    { clipGradNorm: 1 },
  ]) {
    const o = new Optimizer({ ...base, ...k }, manifest);
    assert.equal(o.elementwise, false);
    assert.throws(() => o.stepRange(1, 0.1, new Float32Array(n), grads[0]!, 0, 5), /updates whole tensors/);
  }
});
