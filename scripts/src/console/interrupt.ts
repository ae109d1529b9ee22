// Ctrl-C and SIGTERM (a scheduler's preemption, `timeout`) for commands that run training (a run of its own
// or a sweep): the first signal asks for a clean stop (finish the step, write a checkpoint); a second Ctrl-C
// quits at once (130). Signals are often delivered more than once: `timeout` and Slurm signal the whole
// process group and a wrapper script may forward the same signal again, so a repeated SIGTERM, and any
// signal within DUPLICATE_MS of the first, belong to the same request and never cut the clean stop short
// (SIGKILL is the way to quit at once then).

/** Signals this soon after the first are the same request delivered twice. */
export const DUPLICATE_MS = 1000;

export interface Interrupts {
  /** Whether a stop was asked for. */
  readonly requested: boolean;
  /** Stop listening. */
  dispose(): void;
}

export function onInterrupt(
  stopCleanly: () => void,
  beforeExit: () => void = () => undefined,
  clock: () => number = () => performance.now(),
): Interrupts {
  let firstAt: number | null = null;
  const handler = (signal: NodeJS.Signals): void => {
    if (firstAt === null) {
      firstAt = clock();
      return stopCleanly();
    }
    if (signal !== 'SIGINT' || clock() - firstAt < DUPLICATE_MS) return;
    beforeExit();
    process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get requested() {
      return firstAt !== null;
    },
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
