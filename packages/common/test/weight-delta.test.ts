import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  applyDelta,
  decode,
  encode,
  encodeDelta,
  GRAD_BLOCK,
  HeldView,
  parseCoordinatorMsg,
  Rng,
  receiveWeights,
  TrainerError,
  viewDigest,
  type WeightsDeltaMsg,
} from '@dtrain/common';

const ctx = (paramCount: number) => ({ paramCount, trainSize: 100, evalSize: 100 });

function randomWeights(n: number, seed: number, scale = 1): Float32Array {
  const rng = new Rng(seed);
  const rand = () => rng.next();
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

test('one int8 delta brings the view within half a quantization step of w, block by block', () => {
  const n = 2 * GRAD_BLOCK + 17;
  const view = randomWeights(n, 1);
  const w = Float32Array.from(view, (v, i) => v + (i < GRAD_BLOCK ? 0.01 : 1) * Math.sin(i));
  const d = encodeDelta(w, view, 'int8')!;
  assert.equal(d.scales!.length, 3);
  applyDelta(view, d);
  for (let i = 0; i < n; i++) {
    const scale = d.scales![Math.floor(i / GRAD_BLOCK)]!;
    assert.ok(Math.abs(view[i]! - w[i]!) <= scale / 2 + 1e-6 * Math.abs(w[i]!), `value ${i}`);
  }
});

test('the error does not accumulate: after 300 noisy steps the view is as close to w as after one (EF21-P)', () => {
  const n = 5000;
  const w = randomWeights(n, 2);
  const view = Float32Array.from(w);
  const rng = new Rng(3);
  const rand = () => rng.next();
  let worst = 0;
  for (let t = 0; t < 300; t++) {
    for (let i = 0; i < n; i++) w[i] = w[i]! - 0.01 * (rand() * 2 - 1);
    const d = encodeDelta(w, view, 'int8')!;
    applyDelta(view, d);
    const bound = Math.max(...d.scales!) / 2 + 1e-6;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(view[i]! - w[i]!) / bound);
  }
  assert.ok(worst <= 1, `the view stayed within half a step of w (worst ${worst.toFixed(3)} of the bound)`);
});

test('bf16 deltas: the view tracks w to bf16 precision of the step, not of the weights', () => {
  const w = randomWeights(1000, 4);
  const view = Float32Array.from(w);
  for (let t = 0; t < 50; t++) {
    for (let i = 0; i < w.length; i++) w[i] = w[i]! + 1e-3 * Math.cos(i + t);
    applyDelta(view, encodeDelta(w, view, 'bf16')!);
  }
  for (let i = 0; i < w.length; i++) assert.ok(Math.abs(view[i]! - w[i]!) <= 1e-3 * 2 ** -7, `value ${i}`);
});

test('a delta through the codec and the parser moves a receiver to the same bits as the sender', () => {
  const n = GRAD_BLOCK + 5;
  for (const wire of ['int8', 'bf16'] as const) {
    const sender = randomWeights(n, 5);
    const held = new HeldView();
    receiveWeights(held, { kind: 'weights', version: 7, data: Float32Array.from(sender) });
    const w = Float32Array.from(sender, (v, i) => v + 1e-3 * Math.sin(i));
    const d = encodeDelta(w, sender, wire)!;
    applyDelta(sender, d);
    const msg: WeightsDeltaMsg = { kind: 'weightsDelta', version: 8, base: 7, ...d, digest: viewDigest(sender) };
    const parsed = parseCoordinatorMsg(decode(encode(msg), 1 << 20), ctx(n));
    assert.equal(parsed.kind, 'weightsDelta');
    const got = receiveWeights(held, parsed as WeightsDeltaMsg);
    assert.deepEqual(Buffer.from(got.buffer), Buffer.from(sender.buffer), `${wire}: bitwise`);
    assert.equal(held.version, 8);
  }
});

test('a receiver refuses a delta from another base, a digest that differs, and a delta under fp32 weights', () => {
  const held = new HeldView();
  const w = randomWeights(10, 6);
  const d = encodeDelta(
    Float32Array.from(w, (v) => v + 0.5),
    w,
    'int8',
  )!;
  assert.throws(() => held.delta(1, 0, d), /holds no weights/);
  held.full(3, w);
  assert.throws(
    () => held.delta(5, 4, d),
    (e: unknown) => e instanceof TrainerError && e.code === 'ERR_VIEW_MISMATCH',
  );
  assert.throws(() => held.delta(4, 3, d, '0'.repeat(32)), /differ from the coordinator's/);
  assert.throws(() => held.delta(5, 4, d), /holds no weights/, 'a digest mismatch drops the view');
  assert.throws(
    () => receiveWeights(null, { kind: 'weightsDelta', version: 1, base: 0, ...d }),
    (e: unknown) => e instanceof TrainerError && e.code === 'ERR_UNEXPECTED_MESSAGE',
  );
});

test('the parser refuses malformed deltas', () => {
  const n = 10;
  const d = encodeDelta(new Float32Array(n).fill(1), new Float32Array(n), 'int8')!;
  const good: WeightsDeltaMsg = { kind: 'weightsDelta', version: 2, base: 1, ...d };
  const parse = (m: object) => parseCoordinatorMsg(decode(encode(m as WeightsDeltaMsg), 1 << 20), ctx(n));
  assert.equal(parse(good).kind, 'weightsDelta');
  assert.throws(() => parse({ ...good, base: 2 }), /from version 2 to 2/);
  assert.throws(() => parse({ ...good, digest: 'xyz' }), /32 hex digits/);
  assert.throws(() => parse({ ...good, scales: new Float32Array([-1]) }), /finite and >= 0/);
  assert.throws(() => parseCoordinatorMsg({ ...good, wire: 'bf16' }, ctx(n)), /must be bf16 values/);
  assert.throws(() => parseCoordinatorMsg({ ...good, wire: 'fp32' }, ctx(n)), /bf16 or int8/);
  assert.throws(() => parseCoordinatorMsg(decode(encode(good), 1 << 20), ctx(n + 1)), /manifest says 11/);
});

test('a delta to weights that are not finite is not made (the caller sends them whole)', () => {
  const view = new Float32Array(4);
  assert.equal(encodeDelta(new Float32Array([0, Number.NaN, 0, 0]), view, 'int8'), null);
  assert.equal(encodeDelta(new Float32Array([0, Number.POSITIVE_INFINITY, 0, 0]), view, 'bf16'), null);
});
