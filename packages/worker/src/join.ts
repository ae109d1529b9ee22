// What a welcome sets up on the worker: the run's trainer (model and data built here), checked against
// the coordinator's model fingerprint, and the bounds the run's frames are parsed with.

import {
  type DatasetSpec,
  MAX_SHARD_SAMPLES,
  type ParseContext,
  runBounds,
  TrainerError,
  type WelcomeMsg,
} from '@dtrain/common';
import type { DataLocation } from '@dtrain/common/files';
import { WorkerTrainer } from './trainer.js';

/** Build the welcomed run's trainer; throws ERR_MODEL_MISMATCH when our model is not the coordinator's. */
export function joinRun(msg: WelcomeMsg, loc: DataLocation, maxShard: number | undefined): WorkerTrainer {
  const trainer = new WorkerTrainer(msg, loc);
  const fp = trainer.modelFingerprint;
  if (fp !== msg.modelFingerprint) {
    trainer.dispose();
    const hint = 'run the same dtrain version on the coordinator and the workers';
    const what = `model ${msg.model}: coordinator fingerprint ${msg.modelFingerprint}, ours ${fp}`;
    throw new TrainerError('ERR_MODEL_MISMATCH', what, { hint });
  }
  return trainer;
}

/**
 * Where this machine has the run's data (`prepare`: the worker's own answer). A configuration error there
 * (a folder dataset without --data-dir, a dataset it cannot fetch) is returned, not thrown: this worker
 * cannot serve the run, and ends for good rather than redialling into the same error.
 */
export async function runDataLocation(
  prepare: ((spec: DatasetSpec) => Promise<DataLocation>) | undefined,
  spec: DatasetSpec,
): Promise<DataLocation | TrainerError> {
  try {
    return prepare ? await prepare(spec) : {};
  } catch (e) {
    if (e instanceof TrainerError && e.code === 'ERR_BAD_CONFIG') return e;
    throw e;
  }
}

/** The bounds of the run's frames; shards no larger than the run's or our own cap. */
export function welcomedBounds(trainer: WorkerTrainer, msg: WelcomeMsg, maxShard: number | undefined): ParseContext {
  const bounds = runBounds(trainer.net.paramCount, trainer.dataset);
  return { ...bounds, maxShard: Math.min(msg.maxShard, maxShard ?? MAX_SHARD_SAMPLES) };
}
