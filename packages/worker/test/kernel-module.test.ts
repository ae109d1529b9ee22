import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { selectBackend } from '@dtrain/worker';
import * as tf from '@tensorflow/tfjs-core';
import { convLayer } from '../src/conv.js';
import { chooseKernelBuild, fmaSupported } from '../src/kernel-module.js';
import { randomArray } from './helpers.js';

const cpuHasFma = /\bfma\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

test('Node >= 20 runs the FMA build (relaxed SIMD switched on where it is behind a flag); wasm-simd pins the baseline', async () => {
  assert.equal(fmaSupported(), true, `Node ${process.version}: relaxed SIMD did not validate`);
  assert.equal(chooseKernelBuild('auto'), 'fma');
  assert.equal(chooseKernelBuild('simd'), 'simd');
  const fma = await selectBackend('wasm');
  assert.equal(fma.kernels, 'fma');
  assert.match(fma.reason, /fused multiply-add/);
  const simd = await selectBackend('wasm-simd');
  assert.equal(simd.kernels, 'simd');
  assert.doesNotMatch(simd.reason, /fused/);
});

test('the two builds agree to float32 rounding and, on a CPU with FMA, really differ (one rounding, not two)', async () => {
  const x = tf.tensor4d(randomArray(2 * 12 * 12 * 16, 41), [2, 12, 12, 16]);
  const w = tf.tensor4d(randomArray(3 * 3 * 16 * 32, 42), [3, 3, 16, 32]);
  const b = tf.tensor1d(randomArray(32, 43));
  const outputs: Float32Array[] = [];
  for (const backend of ['wasm-simd', 'wasm'] as const) {
    await selectBackend(backend);
    const y = convLayer(x, w, b, 1, 'valid', 'linear');
    outputs.push(y.dataSync().slice() as Float32Array);
    y.dispose();
  }
  tf.dispose([x, w, b]);
  const [simd, fma] = outputs as [Float32Array, Float32Array];
  let differ = 0;
  let worst = 0;
  for (let i = 0; i < simd.length; i++) {
    if (simd[i] !== fma[i]) differ++;
    worst = Math.max(worst, Math.abs(simd[i]! - fma[i]!) / Math.max(1, Math.abs(simd[i]!)));
  }
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  if (cpuHasFma) assert.ok(differ > 0, 'no element differs: the FMA build did not run fused multiply-adds');
  await selectBackend('wasm');
});
