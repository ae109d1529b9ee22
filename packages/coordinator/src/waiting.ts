// Waiting for workers: all `workers` before the first step (or `minWorkers` once no other joined for
// JOIN_GRACE_MS), `minWorkers` after the run started; ERR_NO_WORKERS after the wait timeout.

import { TrainerError } from '@dtrain/common';

export const JOIN_GRACE_MS = 3_000;
const POLL_MS = 250;

export interface WaitSpec {
  ready: () => number;
  workers: number;
  minWorkers: number;
  started: boolean;
  timeoutMs: number;
  stopped: () => boolean;
  /** Receives a function that ends the current poll early (a worker joined, or a stop). */
  setWake: (wake: (() => void) | null) => void;
}

/** Resolves once enough workers are ready, or the run is stopped. */
export async function waitForWorkers(w: WaitSpec): Promise<void> {
  const need = w.started ? w.minWorkers : w.workers;
  const deadline = Date.now() + w.timeoutMs;
  let enoughSince = 0;
  while (!w.stopped()) {
    const n = w.ready();
    if (n >= w.workers) return;
    if (n >= w.minWorkers) {
      enoughSince ||= Date.now();
      if (w.started || Date.now() - enoughSince > JOIN_GRACE_MS) return;
    } else {
      enoughSince = 0;
    }
    if (Date.now() > deadline) {
      throw new TrainerError('ERR_NO_WORKERS', `only ${n} of ${need} workers after ${Math.round(w.timeoutMs / 1000)} s`, {
        hint: 'start more workers (dtrain worker --connect ws://HOST:PORT), lower --min-workers, or raise --wait-timeout; resume with --resume',
      });
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, POLL_MS);
      w.setWake(() => {
        clearTimeout(t);
        resolve();
      });
    });
    w.setWake(null);
  }
}
