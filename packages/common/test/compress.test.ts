import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decode,
  decompress,
  encodeGradient,
  encodeUnchecked,
  fromBf16,
  fromFp16,
  GRAD_BLOCK,
  GradientCompressor,
  parseWorkerMsg,
  TrainerError,
  toBf16,
  toFp16,
} from '@dtrain/common';

test('bf16 and fp16 bits of known values, rounding to nearest even', () => {
  assert.equal(toBf16(1), 0x3f80);
  assert.equal(toBf16(-2), 0xc000);
  assert.equal(fromBf16(toBf16(3.140625)), 3.140625);
  assert.equal(fromBf16(toBf16(1 + 2 ** -8)), 1, 'a tie rounds to the even neighbour');
  assert.equal(fromBf16(toBf16(1 + 3 * 2 ** -8)), 1 + 2 ** -6);
  assert.equal(toFp16(1), 0x3c00);
  assert.equal(toFp16(65504), 0x7bff);
  assert.equal(toFp16(1e6), 0x7c00, 'overflow is infinity');
  assert.equal(fromFp16(toFp16(2 ** -24)), 2 ** -24, 'the smallest subnormal survives');
  assert.equal(fromFp16(toFp16(2 ** -26)), 0);
  assert.equal(fromFp16(toFp16(1 + 2 ** -11)), 1, 'a tie rounds to even');
  assert.equal(fromFp16(toFp16(0.1)), 0.0999755859375);
  assert.ok(Number.isNaN(fromFp16(toFp16(NaN))) && Number.isNaN(fromBf16(toBf16(NaN))));
});

test('int8 with error feedback, by hand: what rounding loses joins the next gradient', () => {
  const c = new GradientCompressor('int8');
  const g = Float32Array.of(127, 0.4); // scale = 127/127 = 1
  // each read before the next compress: the compressor writes its wire arrays again (its contract)
  const sent = [1, 2, 3].map(() => Array.from(decompress(c.compress(g), new Float32Array(2))));
  // v = g + e: [127, 0.4] -> q [127, 0], e 0.4; [127, 0.8] -> [127, 1], e -0.2; [127, 0.2] -> [127, 0], e 0.2
  assert.deepEqual(sent, [
    [127, 0],
    [127, 1],
    [127, 0],
  ]);
  const total = sent.reduce((a, s) => a + s[1]!, 0);
  assert.ok(Math.abs(total + 0.2 - 3 * 0.4) < 1e-6, 'sent + residual = what was computed');
  c.reset();
  assert.deepEqual(Array.from(decompress(c.compress(g), new Float32Array(2))), [127, 0]);
});

test('int8: a block of subnormal values (its 1/scale is infinite) keeps its zeros as zeros, its residual finite', () => {
  const c = new GradientCompressor('int8');
  const g = Float32Array.of(0, 4e-40, -2e-40, 0); // scale 4e-40 / 127 is subnormal
  for (let step = 0; step < 3; step++) {
    const sent = c.compress(g);
    const q = Array.from(sent.data as Int8Array);
    if (step === 0) assert.deepEqual(q, [0, 127, -127, 0]);
    assert.deepEqual([q[0], q[3]], [0, 0], `step ${step}: zeros stay zeros`);
    const msg = encodeGradient(
      { kind: 'gradient', step: 1, version: 0, shardId: 0, count: 1, lossSum: 1, correct: 0, computeMs: 1 },
      sent,
    );
    // the next step's scales stay finite: the coordinator takes every one of them
    parseWorkerMsg(decode(msg, 1 << 20), { paramCount: 4, trainSize: 10, evalSize: 10 });
  }
});

test('int8 uses one scale per block of GRAD_BLOCK values', () => {
  const g = new Float32Array(GRAD_BLOCK + 2);
  g[0] = 254; // block 0: scale 2
  g[GRAD_BLOCK] = 1.27; // block 1: scale 0.01
  g[GRAD_BLOCK + 1] = 0.5;
  const w = new GradientCompressor('int8').compress(g);
  assert.deepEqual(
    Array.from(w.scales!).map((x) => Number(x.toPrecision(6))),
    [2, 0.01],
  );
  assert.equal(w.data[GRAD_BLOCK + 1], 50);
});

const fields = {
  kind: 'gradient' as const,
  step: 3,
  version: 2,
  shardId: 0,
  count: 8,
  lossSum: 1,
  correct: 2,
  computeMs: 1,
};
const ctx = { paramCount: 5000, trainSize: 100, evalSize: 100 };

test('every wire format survives encode -> decode -> parse as the values the worker meant', () => {
  const grad = Float32Array.from({ length: 5000 }, (_, i) => Math.sin(i) * 0.01);
  for (const wire of ['fp32', 'bf16', 'fp16', 'int8'] as const) {
    const w = new GradientCompressor(wire).compress(Float32Array.from(grad));
    const encoded = encodeGradient(fields, w);
    // as ws hands frames over: a Node Buffer at an odd offset inside a larger pool
    const pool = Buffer.alloc(encoded.length + 3, 7);
    pool.set(encoded, 3);
    const frame = pool.subarray(3);
    const msg = parseWorkerMsg(decode(frame, 1 << 24), ctx);
    assert.ok(msg.kind === 'gradient');
    assert.deepEqual(msg.grad, decompress(w, new Float32Array(5000)), wire);
    const bytes = { fp32: 4, bf16: 2, fp16: 2, int8: 1 }[wire];
    assert.ok(frame.length < 5000 * bytes + 200 + (wire === 'int8' ? 8 : 0), `${wire}: ${frame.length} bytes`);
  }
});

test('hostile compressed frames are refused: NaN scales, wrong sizes, reserved keys, non-finite halves', () => {
  const refuse = (frame: Uint8Array, code: string) =>
    assert.throws(
      () => parseWorkerMsg(decode(frame, 1 << 24), ctx),
      (e: unknown) => e instanceof TrainerError && e.code === code,
      code,
    );
  const w = new GradientCompressor('int8').compress(new Float32Array(5000).fill(1));
  w.scales![0] = NaN;
  refuse(encodeGradient(fields, w), 'ERR_NON_FINITE');
  refuse(encodeGradient(fields, new GradientCompressor('bf16').compress(new Float32Array(4000))), 'ERR_SHAPE_MISMATCH');
  refuse(encodeGradient(fields, { wire: 'fp16', data: new Uint16Array(5000).fill(0x7c00) }), 'ERR_NON_FINITE');
  refuse(
    encodeGradient({ ...fields, $scales: 1 } as never, new GradientCompressor('int8').compress(new Float32Array(5000))),
    'ERR_BAD_FRAME',
  );
  refuse(encodeUnchecked({ ...fields, wire: 'int4', grad: new Float32Array(5000) }), 'ERR_BAD_FRAME');
  refuse(encodeUnchecked({ ...fields, wire: 'int8', grad: new Float32Array(5000) }), 'ERR_BAD_FRAME'); // says int8, carries floats
  const ok = encodeGradient(fields, new GradientCompressor('int8').compress(new Float32Array(5000)));
  assert.throws(
    () => decode(ok.subarray(0, 100), 1 << 24),
    (e: unknown) => e instanceof TrainerError && e.code === 'ERR_SHAPE_MISMATCH',
  );
});

test('drain: a flushed gradient carries the residual whole and the residual starts over', () => {
  const c = new GradientCompressor('int8');
  const g = Float32Array.from({ length: 10 }, (_, i) => (i - 4.5) / 7);
  const sent = decompress(c.compress(g), new Float32Array(10));
  const lost = g.map((v, i) => v - sent[i]!);
  assert.ok(
    lost.some((v) => v !== 0),
    'int8 lost something',
  );
  const next = Float32Array.from({ length: 10 }, () => 0.25);
  const whole = c.drain(Float32Array.from(next));
  whole.forEach((v, i) => assert.equal(v, Math.fround(0.25 + lost[i]!), `value ${i}`));
  assert.deepEqual(c.drain(Float32Array.from(next)), next, 'nothing left to drain');
  // toWire: compressed, or at a flush whole with the residual drained into it
  const t = new GradientCompressor('int8');
  assert.equal(t.toWire(Float32Array.from(g), false).wire, 'int8');
  const flushed = t.toWire(Float32Array.from(next), true);
  assert.equal(flushed.wire, 'fp32');
  (flushed.data as Float32Array).forEach((v, i) => assert.equal(v, Math.fround(0.25 + lost[i]!), `flushed ${i}`));
});

test('an int8 gradient whose scale could overflow float32 is refused; the largest allowed stays finite', () => {
  const fields = {
    kind: 'gradient' as const,
    step: 1,
    version: 0,
    shardId: 0,
    count: 1,
    lossSum: 1,
    correct: 0,
    computeMs: 1,
  };
  const ctx = { paramCount: 3, trainSize: 10, evalSize: 10 };
  const frame = (scale: number) =>
    encodeGradient(fields, { wire: 'int8', data: new Int8Array([127, -127, 5]), scales: new Float32Array([scale]) });
  const ok = parseWorkerMsg(decode(frame(2.6793883890187504e36), 1 << 20), ctx) as { grad: Float32Array };
  assert.ok(ok.grad.every(Number.isFinite));
  assert.throws(() => parseWorkerMsg(decode(frame(2.68e36), 1 << 20), ctx), /at most 3.4e38 \/ 127/);
  assert.throws(() => parseWorkerMsg(decode(frame(Number.NaN), 1 << 20), ctx), /scales must be finite/);
});
