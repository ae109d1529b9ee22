// The training options about watching and measuring a run (part of TRAIN_FLAGS, train-flags.ts): the live
// dashboard, the timeline, and the evaluation cadence near a target.

import { numbers } from '../experiment/plans.js';
import type { FlagRow } from './train-flags.js';

const RUN = 'Run:';

export const OBSERVE_FLAGS = {
  'eval-near-targets': {
    type: 'string',
    describe:
      'validation accuracies whose crossing you measure, e.g. 0.55,0.6: within 0.05 below one not yet reached, also ' +
      'evaluate every 2% of the steps so far (a sweep: its --target by default)',
    group: RUN,
    path: 'evalNearTargets',
    role: 'operational',
    to: (v: string | undefined) => (v === undefined ? undefined : numbers(v, '--eval-near-targets')),
  },
  'dashboard-port': {
    type: 'number',
    describe:
      'serve a live dashboard of the run over HTTP on this port (0: any free one; its address is printed): loss, ' +
      "accuracy, learning rate, noise scale, step times, workers; read-only, behind the run's token when it has one",
    group: RUN,
    role: 'process',
  },
  'dashboard-host': {
    type: 'string',
    default: '127.0.0.1',
    describe: 'the address the dashboard listens on (default loopback; e.g. 0.0.0.0 to reach it from other hosts)',
    group: RUN,
    role: 'process',
  },
  trace: {
    type: 'string',
    describe:
      "write the run's timeline to FILE in the Chrome trace-event format (open in ui.perfetto.dev or chrome://tracing): " +
      "per step the coordinator phases and each worker's download, compute and upload; evaluations",
    group: RUN,
    role: 'process',
  },
} as const satisfies Record<string, FlagRow>;
