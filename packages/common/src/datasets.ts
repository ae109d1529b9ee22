// Dataset specs as agreed between coordinator and workers; the coordinator sends one at the handshake and
// every worker builds (or loads) the same data and proves it by fingerprint.

import type { Dataset } from './data.js';
import { TrainerError } from './errors.js';
import { syntheticDataset } from './synthetic.js';

export interface SyntheticDatasetSpec {
  name: 'synthetic';
  trainSize: number;
  testSize: number;
  seed: number;
  valFraction: number;
}

export type DatasetSpec = SyntheticDatasetSpec;

export const DATASET_NAMES = ['synthetic'] as const;

export function validateDatasetSpec(spec: DatasetSpec): void {
  const bad = (msg: string, hint: string): never => {
    throw new TrainerError('ERR_BAD_CONFIG', msg, { hint });
  };
  if (spec.name !== 'synthetic') bad(`unknown dataset "${String((spec as { name: unknown }).name)}"`, `choose one of: ${DATASET_NAMES.join(', ')}`);
  if (!Number.isInteger(spec.trainSize) || spec.trainSize < 1 || spec.trainSize > 1_000_000) {
    bad(`--train-size ${spec.trainSize} must be a whole number in 1..1000000`, 'use e.g. --train-size 6000');
  }
  if (!Number.isInteger(spec.testSize) || spec.testSize < 1 || spec.testSize > 1_000_000) {
    bad(`--test-size ${spec.testSize} must be a whole number in 1..1000000`, 'use e.g. --test-size 1000');
  }
  if (!(spec.valFraction >= 0 && spec.valFraction < 1)) bad(`--val-fraction ${spec.valFraction} must be in [0, 1)`, 'use e.g. --val-fraction 0.2');
}

/** Training samples left after the validation split is cut off. */
export function trainSplitSize(spec: DatasetSpec): number {
  return spec.trainSize - Math.floor(spec.trainSize * spec.valFraction);
}

/** Build the dataset a spec names (pure: the embedded dataset is generated, not read). */
export function buildDataset(spec: DatasetSpec): Dataset {
  validateDatasetSpec(spec);
  return syntheticDataset(spec, spec.valFraction);
}
