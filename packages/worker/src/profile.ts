// Compute benchmark for one worker process: forward + backward + gradient read-back of a batch, timed
// over many iterations, with a per-kernel breakdown from tf.profile and tensor/memory drift.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { forwardFlops, getModelSpec, initWeights, type ModelSpec, syntheticDataset } from '@dtrain/common';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendInfo } from './backend.js';
import { Network } from './network.js';

export interface ComputeBenchResult {
  bench: 'compute';
  backend: string;
  /** On wasm: which build of dtrain's kernels ran (fma or simd). */
  kernels?: string;
  model: string;
  batchSize: number;
  iterations: number;
  msPerBatch: number;
  imagesPerSecond: number;
  /** Training FLOPs counted as 3 x forward (forward, input gradient, weight gradient). */
  gflopsPerSecond: number;
  kernelsMs: Record<string, number>;
  numTensorsDrift: number;
  rssMbStart: number;
  rssMbEnd: number;
  /**
   * RSS after a full GC at each tenth of the iterations (not timed): flat means no growth (without the GC it
   * drifts up until V8 collects).
   */
  rssMbTrace: number[];
}

/** A full-GC function, also when node runs without --expose-gc. */
function fullGc(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

/** Images/s and training GFLOP/s (3 x forward FLOPs: forward, input gradient, weight gradient) of one batch time. */
export function computeRates(
  batchSize: number,
  msPerBatch: number,
  forwardFlopsPerImage: number,
): { imagesPerSecond: number; gflopsPerSecond: number } {
  return {
    imagesPerSecond: Number(((batchSize * 1000) / msPerBatch).toFixed(1)),
    gflopsPerSecond: Number(((3 * forwardFlopsPerImage * batchSize) / (msPerBatch * 1e6)).toFixed(2)),
  };
}

export async function benchCompute(
  backend: BackendInfo,
  model: string | ModelSpec,
  batchSize: number,
  iterations: number,
  /** Also the per-kernel breakdown (one profiled pass more) and the memory trace (full GCs, not timed); default both. */
  detail = true,
): Promise<ComputeBenchResult> {
  const spec = typeof model === 'string' ? getModelSpec(model) : model;
  const net = new Network(spec);
  net.setWeights(initWeights(net.manifest, 1));
  const ds = syntheticDataset({ trainSize: batchSize, testSize: 1, seed: 1 }, 0);
  const x = new Float32Array(batchSize * 3072);
  const y = new Int32Array(batchSize);
  ds.fillBatch('train', [...Array(batchSize).keys()], x, y);
  const g = new Float32Array(net.paramCount);
  for (let i = 0; i < (detail ? 3 : 1); i++) net.computeShard(x, y, batchSize, g); // warm-up
  const tensors0 = tf.memory().numTensors;
  const rss0 = process.memoryUsage().rss;
  const rssTrace: number[] = [];
  const gc = fullGc();
  const every = Math.max(1, Math.floor(iterations / 10));
  let busy = 0; // the passes only: the memory trace's full GCs are not timed
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    net.computeShard(x, y, batchSize, g);
    busy += performance.now() - t;
    if (detail && (i + 1) % every === 0) {
      gc();
      rssTrace.push(Math.round(process.memoryUsage().rss / 2 ** 20));
    }
  }
  const ms = busy / iterations;
  const kernelsMs: Record<string, number> = {};
  const prof = detail ? await tf.profile(() => void net.computeShard(x, y, batchSize, g)) : { kernels: [] };
  for (const k of prof.kernels)
    kernelsMs[k.name] = (kernelsMs[k.name] ?? 0) + (typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0);
  const sorted = Object.fromEntries(
    Object.entries(kernelsMs)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => [k, Number(v.toFixed(2))]),
  );
  const result: ComputeBenchResult = {
    bench: 'compute',
    backend: backend.name,
    ...(backend.kernels ? { kernels: backend.kernels } : {}),
    model: spec.name,
    batchSize,
    iterations,
    msPerBatch: Number(ms.toFixed(2)),
    ...computeRates(batchSize, ms, forwardFlops(spec)),
    kernelsMs: sorted,
    numTensorsDrift: tf.memory().numTensors - tensors0,
    rssMbStart: Math.round(rss0 / 2 ** 20),
    rssMbEnd: Math.round(process.memoryUsage().rss / 2 ** 20),
    rssMbTrace: rssTrace,
  };
  net.disposeParams();
  return result;
}
