import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decode,
  encodeGradient,
  GRAD_BLOCK,
  GradientCompressor,
  type GradientMsg,
  jsDeltaKernel,
  parseWorkerMsg,
  Rng,
  type WeightDelta,
} from '@dtrain/common';
import { wasmDeltaKernel } from '../src/quantize-kernel.js';

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function pair(n: number, seed: number): { w: Float32Array; view: Float32Array } {
  const rng = new Rng(seed);
  const view = Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 10 ** Math.floor(rng.next() * 6 - 3));
  const w = Float32Array.from(view, (v, i) => {
    const k = i % 7;
    // differences of many sizes, exact ties at half a step, zeros, and whole zero blocks
    if (i >= GRAD_BLOCK && i < 2 * GRAD_BLOCK) return v;
    return k === 0 ? v : k === 1 ? v + 2.5 / 127 : v + (rng.next() - 0.5) * 10 ** (k - 5);
  });
  return { w, view };
}

test("the SIMD int8 delta kernel gives the JavaScript kernel's bits: encode (values and scales) and apply", () => {
  const wasm = wasmDeltaKernel();
  assert.ok(wasm, 'the kernels load here');
  for (const [n, seed] of [
    [1, 1],
    [15, 2],
    [17, 3],
    [GRAD_BLOCK, 4],
    [3 * GRAD_BLOCK + 13, 5],
    [122_570, 6],
  ] as const) {
    const { w, view } = pair(n, seed);
    const a = jsDeltaKernel.encodeInt8(w, view)!;
    const b: WeightDelta = wasm!.encodeInt8(w, view)!;
    assert.deepEqual(bytes(b.scales!), bytes(a.scales!), `n ${n}: scales`);
    assert.deepEqual(bytes(b.data), bytes(a.data), `n ${n}: values`);
    const [va, vb] = [Float32Array.from(view), Float32Array.from(view)];
    jsDeltaKernel.applyInt8(va, a.data as Int8Array, a.scales!);
    wasm!.applyInt8(vb, b.data as Int8Array, b.scales!);
    assert.deepEqual(bytes(vb), bytes(va), `n ${n}: applied`);
  }
});

test('gradient compression with error feedback: the SIMD kernel gives the JavaScript bits, residuals included, over steps', () => {
  const wasm = wasmDeltaKernel()!;
  for (const n of [7, 33, GRAD_BLOCK + 5, 100_000]) {
    const [ea, eb] = [new Float32Array(n), new Float32Array(n)];
    for (let step = 0; step < 4; step++) {
      const { w: g } = pair(n, 10 * n + step); // values of many sizes, ties, a zero block
      if (step === 2) g.fill(0, 0, Math.min(n, 20)); // a block that is all zero but its residual
      const a = jsDeltaKernel.compressInt8(g, ea);
      const b = wasm.compressInt8(g, eb);
      assert.deepEqual(bytes(b.scales), bytes(a.scales), `n ${n} step ${step}: scales`);
      assert.deepEqual(bytes(b.data), bytes(a.data), `n ${n} step ${step}: values`);
      assert.deepEqual(bytes(eb), bytes(ea), `n ${n} step ${step}: residuals`);
    }
  }
});

test("the coordinator expands an int8 gradient through the kernel to decompress's bits", () => {
  const n = 2 * GRAD_BLOCK + 3;
  const g = pair(n, 77).w;
  const frame = encodeGradient(
    { kind: 'gradient', step: 1, version: 0, shardId: 0, count: 1, lossSum: 1, correct: 0, computeMs: 1 },
    new GradientCompressor('int8').compress(g),
  );
  const ctx = { paramCount: n, trainSize: 10, evalSize: 10 };
  const js = parseWorkerMsg(decode(frame, 1 << 24), ctx) as GradientMsg;
  const simd = parseWorkerMsg(decode(frame, 1 << 24), { ...ctx, int8: wasmDeltaKernel()! }) as GradientMsg;
  assert.deepEqual(bytes(simd.grad), bytes(js.grad));
});

test('expansion and the fused encode-and-apply: the same bits in SIMD and JavaScript (-0 included)', () => {
  const wasm = wasmDeltaKernel()!;
  const n = 2 * GRAD_BLOCK + 21;
  const q = Int8Array.from({ length: n }, (_, i) => ((i * 37) % 255) - 127);
  const scales = new Float32Array([0.015, 0, 3.25e-7]); // a zero scale with negative values gives -0
  const [a, b] = [new Float32Array(n), new Float32Array(n)];
  jsDeltaKernel.expandInt8(q, scales, a);
  wasm.expandInt8(q, scales, b);
  assert.deepEqual(bytes(b), bytes(a));
  const { w, view } = pair(n, 5);
  const [va, vb] = [Float32Array.from(view), Float32Array.from(view)];
  const da = jsDeltaKernel.encodeApplyInt8(w, va)!;
  const db = wasm.encodeApplyInt8(w, vb)!;
  assert.deepEqual(bytes(db.data), bytes(da.data));
  assert.deepEqual(bytes(vb), bytes(va), 'the view moved the same way');
  assert.notDeepEqual(bytes(va), bytes(view));
});

test('a difference that is not finite: neither kernel makes a delta', () => {
  const wasm = wasmDeltaKernel()!;
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
    const w = new Float32Array(40);
    w[37] = bad;
    assert.equal(jsDeltaKernel.encodeInt8(w, new Float32Array(40)), null);
    assert.equal(wasm.encodeInt8(w, new Float32Array(40)), null);
  }
});

test('the SIMD kernel encodes into two sets of arrays in turn: a delta stays valid through the next encode', () => {
  const wasm = wasmDeltaKernel();
  assert.ok(wasm);
  const a = pair(5000, 11);
  const b = pair(5000, 12);
  const first = wasm.encodeInt8(a.w, a.view);
  const kept = bytes(first!.data).toString('hex');
  const second = wasm.encodeInt8(b.w, b.view);
  assert.notEqual(second!.data, first!.data);
  assert.equal(bytes(first!.data).toString('hex'), kept, 'the previous delta is untouched by the next encode');
  assert.deepEqual(bytes(second!.data), bytes(jsDeltaKernel.encodeInt8(b.w, b.view)!.data));
  const third = wasm.encodeInt8(a.w, a.view);
  assert.equal(third!.data, first!.data, 'the second encode after reuses the first arrays');
  assert.equal(
    wasm.encodeInt8(pair(77, 13).w, pair(77, 13).view)!.data.length,
    77,
    'another length: arrays of its own',
  );
});

/** Blocks at the quantizer's edges: a subnormal scale (1/scale is infinite), a tiny normal one, exact halves near 127. */
function edgeBlocks(): { w: Float32Array; view: Float32Array } {
  const n = 4 * GRAD_BLOCK + 9;
  const view = new Float32Array(n);
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const b = Math.floor(i / GRAD_BLOCK);
    const sign = i % 3 === 0 ? -1 : 1;
    if (b === 0)
      w[i] = sign * (i % 5) * 1e-40; // subnormal differences and zeros: the scale is subnormal
    else if (b === 1)
      w[i] = sign * (i % 9) * 2e-36; // a normal scale near the bottom of the range
    else if (b === 2)
      w[i] = sign * ((i % 255) + 0.5); // halves: ties to even, 127.5 at the top
    else w[i] = sign * (i % 7) * 1e-3;
  }
  return { w, view };
}

test('at the edges (subnormal and tiny scales, ties at +-127): the SIMD kernel gives the JavaScript bits', () => {
  const wasm = wasmDeltaKernel()!;
  const { w, view } = edgeBlocks();
  const a = jsDeltaKernel.encodeInt8(w, view)!;
  const b = wasm.encodeInt8(w, view)!;
  assert.ok(a.scales![0]! > 0 && a.scales![0]! < 1.2e-38, 'block 0 has a subnormal scale');
  assert.deepEqual(bytes(b.scales!), bytes(a.scales!));
  assert.deepEqual(bytes(b.data), bytes(a.data));
  const [ea, eb] = [new Float32Array(w.length), new Float32Array(w.length)];
  for (let step = 0; step < 2; step++) {
    const ga = jsDeltaKernel.compressInt8(w, ea);
    const gb = wasm.compressInt8(w, eb);
    assert.deepEqual(bytes(gb.scales), bytes(ga.scales), `step ${step}: scales`);
    assert.deepEqual(bytes(gb.data), bytes(ga.data), `step ${step}: values`);
    assert.deepEqual(bytes(eb), bytes(ea), `step ${step}: residuals`);
  }
});

test('a gradient block with an infinite or NaN value: both kernels send it as zeros with the same scale', () => {
  const wasm = wasmDeltaKernel()!;
  for (const bad of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
    const g = pair(2 * GRAD_BLOCK + 5, 91).w;
    g[GRAD_BLOCK + 17] = bad;
    const a = jsDeltaKernel.compressInt8(g, new Float32Array(g.length));
    const b = wasm.compressInt8(g, new Float32Array(g.length));
    assert.ok(Object.is(b.scales[1], a.scales[1]) && !Number.isFinite(a.scales[1]!), `${bad}: the block's scale`);
    assert.deepEqual(bytes(b.scales.subarray(0, 1)), bytes(a.scales.subarray(0, 1)));
    assert.deepEqual(bytes(b.data), bytes(a.data), `${bad}: values`);
  }
});

test("compression into a compressor's own arrays: a block that sends nothing is zeroed over the last gradient's codes", () => {
  const n = 2 * GRAD_BLOCK + 3;
  for (const kernel of [jsDeltaKernel, wasmDeltaKernel()!]) {
    const c = new GradientCompressor('int8', kernel);
    const first = c.compress(pair(n, 21).w);
    const codes = first.data as Int8Array;
    assert.ok(codes.subarray(GRAD_BLOCK, 2 * GRAD_BLOCK).some((q) => q !== 0));
    const g = pair(n, 22).w;
    g.fill(0, GRAD_BLOCK, 2 * GRAD_BLOCK);
    const residual = (c as unknown as { residual: Float32Array }).residual;
    for (let i = GRAD_BLOCK; i < 2 * GRAD_BLOCK; i++) g[i] = -residual[i]!; // v = g + residual = 0: scale 0
    const second = c.compress(g);
    assert.equal(second.data, first.data, 'the same arrays, written again');
    assert.equal((second as { scales?: Float32Array }).scales![1], 0);
    assert.ok(
      codes.subarray(GRAD_BLOCK, 2 * GRAD_BLOCK).every((q) => q === 0),
      'the zero block sends zeros',
    );
  }
});
