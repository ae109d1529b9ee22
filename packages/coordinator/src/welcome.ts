// What a run tells each worker that joins it (the welcome), and the bounds its frames are parsed with.

import {
  type Dataset,
  getModelSpec,
  type Manifest,
  modelFingerprint,
  type ParseContext,
  type TrainConfig,
} from '@dtrain/common';
import type { RunWelcome } from './server.js';

export function runWelcome(runId: string, config: TrainConfig, manifest: Manifest, dataset: Dataset): RunWelcome {
  return {
    runId,
    model: config.model,
    modelFingerprint: modelFingerprint(getModelSpec(config.model)),
    manifest,
    dataset: config.dataset,
    datasetFingerprint: dataset.fingerprint,
    maxShard: Math.max(config.batchSize, config.evalChunk),
    ...(config.gradWire && config.gradWire !== 'fp32' ? { gradWire: config.gradWire } : {}),
  };
}

/** The sizes a frame of this run is checked against (gradient length, sample indices). */
export function runBounds(paramCount: number, dataset: Dataset): ParseContext {
  return {
    paramCount,
    trainSize: dataset.size('train'),
    evalSize: Math.max(dataset.size('val'), dataset.size('test')),
  };
}
