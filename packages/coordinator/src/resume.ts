// Resuming never destroys what an earlier attempt recorded. Records after the newest checkpoint were
// never committed and are redone; but resuming from an older checkpoint into a run directory that holds
// newer ones would discard committed work, so it is refused unless asked for (--overwrite), or done in
// a separate run directory (--out). A run that already completed is left as it is.

import { TrainerError } from '@dtrain/common';
import { checkpointName, listCheckpoints } from './checkpoint.js';
import { type RunSummary, readSummary } from './summary.js';

/** Checkpoints in `out` newer than `step`: refused, or with `overwrite` returned for the run log to remove after the resumed run's first step. */
export function guardResume(out: string, step: number, from: string, overwrite: boolean): string[] {
  const newer = listCheckpoints(out).filter((dir) => dir.slice(-checkpointName(0).length) > checkpointName(step));
  if (newer.length === 0) return [];
  if (!overwrite) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `resuming from step ${step} (${from}) would discard ${newer.length} newer checkpoint(s) in ${out}, up to ${newer[newer.length - 1]}, and their metrics`,
      {
        hint: `resume from the newest (--resume ${out}), branch into another directory (--out NEW_DIR), or pass --overwrite to discard them`,
      },
    );
  }
  return newer; // discarded by the run log once the resumed run has done its first step
}

/** The summary in `out` if it says the run completed at `step`, which is at or past `totalSteps`. */
export function completedSummary(out: string, step: number, totalSteps: number): RunSummary | null {
  if (step < totalSteps) return null;
  const s = readSummary(out);
  return s?.status === 'completed' && s.steps === step ? s : null;
}
