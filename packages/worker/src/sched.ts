// CPU scheduling policy of a worker process. A worker is a throughput job: it computes for tens of ms,
// sends, and sleeps until the coordinator's next message. Under Linux's default policy a worker woken
// by that message preempts whatever runs on the CPU, and when workers and the coordinator share the
// cores (N workers on N cores) that is the coordinator in the middle of sending the step to the other
// workers: measured on 2 vCPUs with 2 workers, the coordinator's weights send took 1.5-2.4 ms median
// (p90 4.5-5.4) instead of 0.3-0.4. SCHED_BATCH tells the scheduler not to preempt on wakeup; the
// compute itself runs as before. Linux only; set through util-linux `chrt` (Node has no call for it).

import { execFileSync } from 'node:child_process';

export type SchedPolicy = 'batch' | 'normal';
export const SCHED_POLICIES: readonly SchedPolicy[] = ['batch', 'normal'];

export interface SchedResult {
  policy: SchedPolicy;
  /** One line for the log: what is in effect and, if not what was asked, why. */
  reason: string;
}

type Run = (file: string, args: string[]) => void;

const runQuiet: Run = (file, args) => {
  execFileSync(file, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 5000 });
};

/** Put every thread of process `pid` under `policy` (normal: leave it as it is). */
export function applySchedPolicy(
  policy: SchedPolicy,
  pid = process.pid,
  platform = process.platform,
  run: Run = runQuiet,
): SchedResult {
  if (policy === 'normal') return { policy, reason: 'normal (as asked)' };
  if (platform !== 'linux')
    return { policy: 'normal', reason: `normal: SCHED_BATCH is Linux-only (this is ${platform})` };
  try {
    run('chrt', ['--batch', '--all-tasks', '--pid', '0', String(pid)]);
    return { policy, reason: 'SCHED_BATCH (no wakeup preemption of the coordinator)' };
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
    const why =
      err.code === 'ENOENT'
        ? 'chrt not found (util-linux)'
        : (err.stderr?.toString().trim() || err.message).split('\n')[0];
    return { policy: 'normal', reason: `normal: could not set SCHED_BATCH: ${why}` };
  }
}
