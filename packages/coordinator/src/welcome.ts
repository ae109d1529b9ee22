// What a run tells each worker that joins it (the welcome).

import {
  type Dataset,
  evalGroupSizeOf,
  groupSizeOf,
  type Manifest,
  modelFingerprint,
  modelSpecOf,
  type TrainConfig,
} from '@dtrain/common';
import type { RunWelcome } from './server.js';

export function runWelcome(runId: string, config: TrainConfig, manifest: Manifest, dataset: Dataset): RunWelcome {
  return {
    runId,
    model: modelSpecOf(config).name,
    modelFingerprint: modelFingerprint(modelSpecOf(config)),
    modelSpec: modelSpecOf(config), // the zoo's spec may be widened to the dataset's classes
    manifest,
    dataset: config.dataset,
    datasetFingerprint: dataset.fingerprint,
    maxShard: Math.max(config.batchSize, config.evalChunk, groupSizeOf(config), evalGroupSizeOf(config)),
    ...(config.gradWire && config.gradWire !== 'fp32' ? { gradWire: config.gradWire } : {}),
    ...(config.weightWire && config.weightWire !== 'fp32' ? { weightWire: config.weightWire } : {}),
  };
}
