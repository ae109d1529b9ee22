import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, test } from 'node:test';
import { selectBackend } from '@dtrain/worker';
import * as tf from '@tensorflow/tfjs-core';
import { convLayer } from '../src/conv.js';
import { KERNEL_FILES } from '../src/kernel-module.js';
import { randomArray, relError } from './helpers.js';

type Shape4 = [number, number, number, number];
type Pad = 'valid' | 'same';

before(async () => {
  await selectBackend('wasm');
});

/** Run one kernel on a backend and read its output back. */
async function runOn(
  backend: string,
  kernel: string,
  inputs: Record<string, { values: Float32Array; shape: number[] }>,
  attrs: object,
): Promise<Float32Array> {
  await tf.setBackend(backend);
  const ts: Record<string, tf.Tensor> = {};
  for (const [name, v] of Object.entries(inputs)) ts[name] = tf.tensor(v.values, v.shape);
  const out = tf.engine().runKernel(kernel, ts, attrs as never) as tf.Tensor;
  const values = out.dataSync().slice() as Float32Array;
  tf.dispose([out, ...Object.values(ts)]);
  return values;
}

/** Values with many exact ties (integers in [-2, 2]) so the first-maximum rule is exercised. */
function tiedArray(n: number, seed: number): Float32Array {
  return randomArray(n, seed, 2.5).map((v) => Math.round(v));
}

test('MaxPoolGrad matches the tfjs cpu kernel (valid/same, stride 1/2, overlapping windows, ties)', async () => {
  let seed = 500;
  const shapes: Shape4[] = [
    [2, 8, 8, 8],
    [3, 7, 9, 5],
    [1, 13, 13, 4],
    [2, 6, 5, 3],
  ];
  for (const shape of shapes) {
    for (const pad of ['valid', 'same'] as Pad[]) {
      for (const [filterSize, stride] of [
        [2, 2],
        [3, 2],
        [2, 1],
        [3, 1],
      ] as const) {
        for (const tied of [false, true]) {
          const size = shape.reduce((a, b) => a * b);
          const x = tied ? tiedArray(size, seed++) : randomArray(size, seed++);
          const info = tf.backend_util.computePool2DInfo(shape, filterSize, stride, 1, pad);
          const dyShape = [shape[0], info.outHeight, info.outWidth, shape[3]];
          const dy = randomArray(
            dyShape.reduce((a, b) => a * b),
            seed++,
          );
          const attrs = { filterSize, strides: stride, pad, dimRoundingMode: undefined };
          await tf.setBackend('cpu');
          const xt = tf.tensor4d(x, shape);
          const y = tf.maxPool(xt, filterSize, stride, pad);
          const output = { values: y.dataSync().slice() as Float32Array, shape: y.shape };
          tf.dispose([xt, y]);
          const inputs = { dy: { values: dy, shape: dyShape }, input: { values: x, shape }, output };
          const ref = await runOn('cpu', 'MaxPoolGrad', inputs, attrs);
          const got = await runOn('wasm', 'MaxPoolGrad', inputs, attrs);
          const err = relError(got, ref);
          assert.ok(err <= 1e-5, `${JSON.stringify({ shape, pad, filterSize, stride, tied })}: rel err ${err}`);
        }
      }
    }
  }
  await tf.setBackend('wasm');
});

test('the bias gradient of Add ([..., c] + [c]) matches the cpu backend, for c with and without a 16-lane remainder', async () => {
  for (const shape of [
    [4, 5, 6, 32],
    [3, 7, 20],
    [9, 3],
    [2, 3, 3, 64],
  ]) {
    const c = shape[shape.length - 1]!;
    const size = shape.reduce((a, b) => a * b);
    const x = randomArray(size, 7 + c);
    const b = randomArray(c, 8 + c);
    const r = randomArray(size, 9 + c);
    const grads: Float32Array[][] = [];
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const [xt, bt, rt] = [tf.tensor(x, shape), tf.tensor(b, [c]), tf.tensor(r, shape)];
      const gs = tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(tf.add(u, v), rt)))([xt, bt]);
      grads.push(gs.map((g) => g.dataSync().slice() as Float32Array));
      tf.dispose([xt, bt, rt, ...gs]);
    }
    assert.ok(relError(grads[1]![0]!, grads[0]![0]!) <= 1e-6, `dx ${shape}`);
    assert.ok(relError(grads[1]![1]!, grads[0]![1]!) <= 1e-5, `db ${shape}: ${relError(grads[1]![1]!, grads[0]![1]!)}`);
  }
  await tf.setBackend('wasm');
});

for (const build of ['simd', 'fma'] as const)
  test(`the ${build} kernel module imports only a memory and has no data section (safe to share tfjs-wasm memory)`, () => {
    const bytes = readFileSync(KERNEL_FILES[build]);
    const mod = new WebAssembly.Module(bytes);
    const imports = (
      WebAssembly.Module as unknown as {
        imports(m: WebAssembly.Module): { module: string; name: string; kind: string }[];
      }
    ).imports(mod);
    assert.deepEqual(imports, [{ module: 'env', name: 'memory', kind: 'memory' }]);
    // Walk the top-level sections: id (1 byte) + LEB128 size; id 11 is the data section.
    const ids: number[] = [];
    for (let at = 8; at < bytes.length; ) {
      const id = bytes[at++]!;
      let size = 0;
      for (let shift = 0; ; shift += 7) {
        const byte = bytes[at++]!;
        size |= (byte & 0x7f) << shift;
        if (byte < 0x80) break;
      }
      ids.push(id);
      at += size;
    }
    assert.ok(ids.includes(10), 'module has a code section');
    assert.ok(!ids.includes(11), `module has a data section (sections: ${ids.join(',')})`);
  });

test('the Relu gradient (one pass) matches the cpu backend, zeros and negatives included', async () => {
  const x = tiedArray(4 * 6 * 6 * 5, 77);
  const dy = randomArray(x.length, 78);
  const got: Float32Array[] = [];
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const [xt, dyt] = [tf.tensor(x, [4, 6, 6, 5]), tf.tensor(dy, [4, 6, 6, 5])];
    const [g] = tf.grads((u: tf.Tensor) => tf.sum(tf.mul(tf.relu(u), dyt)))([xt]);
    got.push(g!.dataSync().slice() as Float32Array);
    tf.dispose([xt, dyt, g!]);
  }
  assert.ok(x.some((v) => v === 0) && x.some((v) => v < 0));
  assert.equal(relError(got[1]!, got[0]!), 0, 'same values (up to the sign of zero)');
  await tf.setBackend('wasm');
});

test('Identity shares memory by reference count: a clone outlives its source and keeps its values', async () => {
  await tf.setBackend('wasm');
  const a = tf.tensor([1, 2, 3, 4], [2, 2]);
  const before = tf.memory().numBytes;
  const b = tf.clone(a);
  assert.equal(tf.memory().numBytes, before + 16, 'engine counts the clone');
  a.dispose();
  assert.deepEqual([...b.dataSync()], [1, 2, 3, 4]);
  const c = tf.add(b, 1);
  b.dispose();
  assert.deepEqual([...c.dataSync()], [2, 3, 4, 5]);
  c.dispose();
});

for (const kernels of ['wasm-simd', 'wasm'] as const)
  test(`fused Conv2D + bias + ReLU and its gradients match conv2d + add + relu on the cpu backend (--backend ${kernels})`, async () => {
    await selectBackend(kernels);
    let seed = 900;
    const shapes: [Shape4, number][] = [
      [[2, 9, 9, 3], 8],
      [[3, 8, 7, 5], 6],
      [[1, 6, 6, 8], 16],
      [[2, 7, 7, 4], 3],
    ];
    for (const [xShape, co] of shapes) {
      for (const pad of ['valid', 'same'] as Pad[]) {
        for (const stride of [1, 2]) {
          for (const activation of ['relu', 'linear'] as const) {
            const wShape: Shape4 = [3, 3, xShape[3], co];
            const x = randomArray(
              xShape.reduce((a, b) => a * b),
              seed++,
            );
            const w = randomArray(
              wShape.reduce((a, b) => a * b),
              seed++,
            );
            const b = randomArray(co, seed++, 0.3);
            const out: Float32Array[][] = [];
            for (const backend of ['cpu', 'wasm']) {
              await tf.setBackend(backend);
              const [xt, wt, bt] = [tf.tensor4d(x, xShape), tf.tensor4d(w, wShape), tf.tensor1d(b)];
              const f = (u: tf.Tensor, v: tf.Tensor, c: tf.Tensor): tf.Tensor4D => {
                if (backend === 'cpu') {
                  const z = tf.add(tf.conv2d(u as tf.Tensor4D, v as tf.Tensor4D, stride, pad), c) as tf.Tensor4D;
                  return activation === 'relu' ? tf.relu(z) : z;
                }
                return convLayer(u as tf.Tensor4D, v as tf.Tensor4D, c, stride, pad, activation);
              };
              const y = f(xt, wt, bt);
              const r = tf.randomUniform(y.shape, -1, 1, 'float32', seed);
              const gs = tf.grads((u: tf.Tensor, v: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(f(u, v, c), r)))([
                xt,
                wt,
                bt,
              ]);
              out.push([y, ...gs].map((t) => t.dataSync().slice() as Float32Array));
              tf.dispose([xt, wt, bt, y, r, ...gs]);
            }
            const label = JSON.stringify({ xShape, co, pad, stride, activation });
            ['y', 'dx', 'dw', 'db'].forEach((name, i) => {
              const err = relError(out[1]![i]!, out[0]![i]!);
              assert.ok(err <= 1e-5, `${label} ${name}: rel err ${err}`);
            });
          }
        }
      }
    }
    await tf.setBackend('wasm');
  });
