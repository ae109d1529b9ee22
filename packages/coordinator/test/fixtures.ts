// A run's welcome for tests of the coordinator's boundary: a model of `params` values in one tensor, a
// small generated dataset.

import type { RunWelcome } from '../src/server.js';

export function tinyRun(params: number, trainSize = 10): RunWelcome {
  return {
    runId: 'r',
    model: 'tiny-cnn',
    modelFingerprint: 'mfp',
    manifest: [{ name: 'w', shape: [params], offset: 0, length: params }],
    dataset: { name: 'synthetic', trainSize, testSize: 10, seed: 1, valFraction: 0, normalize: false, augment: false },
    datasetFingerprint: 'dfp',
    maxShard: 256,
  };
}
