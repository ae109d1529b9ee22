// Waiting for workers: all `workers` before the first step (or `minWorkers` once no other joined for
// JOIN_GRACE_MS), `minWorkers` after the run started; ERR_NO_WORKERS after the wait timeout.

import { TrainerError } from '@dtrain/common';

export const JOIN_GRACE_MS = 3_000;
const POLL_MS = 250;

export interface WorkerNeed {
  workers: number;
  minWorkers: number;
  /** After the first step (or on resume) `minWorkers` is enough. */
  started: boolean;
  timeoutMs: number;
}

/**
 * Resolves once enough workers are ready, or `signal` aborts. `setWake` receives a function that ends
 * the current poll early (a worker joined, or an abort).
 */
export async function waitForWorkers(
  w: WorkerNeed,
  ready: () => number,
  signal: AbortSignal,
  setWake: (wake: (() => void) | null) => void,
): Promise<void> {
  const need = w.started ? w.minWorkers : w.workers;
  const deadline = Date.now() + w.timeoutMs;
  let enoughSince = 0;
  while (!signal.aborted) {
    const n = ready();
    if (n >= w.workers) return;
    if (n >= w.minWorkers) {
      enoughSince ||= Date.now();
      if (w.started || Date.now() - enoughSince > JOIN_GRACE_MS) return;
    } else {
      enoughSince = 0;
    }
    if (Date.now() > deadline) {
      throw new TrainerError(
        'ERR_NO_WORKERS',
        `only ${n} of ${need} workers after ${Math.round(w.timeoutMs / 1000)} s`,
        {
          hint: 'start more workers (dtrain worker --connect ws://HOST:PORT), lower --min-workers, or raise --wait-timeout; resume with --resume',
        },
      );
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, POLL_MS);
      setWake(() => {
        clearTimeout(t);
        resolve();
      });
    });
    setWake(null);
  }
}
