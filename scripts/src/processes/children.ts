// Child processes of the dtrain command (local workers, benchmark workers): waiting for them to end.

import type { ChildProcess } from 'node:child_process';

/** Resolves once `child` has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Resolves once every child has exited, or after `timeoutMs`; true if they all did. */
export async function allExited(children: readonly ChildProcess[], timeoutMs = Infinity): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([Promise.all(children.map(exited)).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
