// Ctrl-C and SIGTERM (a scheduler's preemption, `timeout`) for commands that run training (a run of its own
// or a sweep): the first signal asks for a clean stop (finish the step, write a checkpoint), a second one
// quits at once (130).

export interface Interrupts {
  /** Whether a stop was asked for. */
  readonly requested: boolean;
  /** Stop listening. */
  dispose(): void;
}

export function onInterrupt(stopCleanly: () => void, beforeExit: () => void = () => undefined): Interrupts {
  let count = 0;
  const handler = (): void => {
    count++;
    if (count === 1) return stopCleanly();
    beforeExit();
    process.exit(130);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get requested() {
      return count > 0;
    },
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
