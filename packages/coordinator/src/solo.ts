// A run on a pool of its own (`dtrain coordinator`, `launch`, benches, tests): the pool is sized for the
// run's model (read from the checkpoint when resuming), listens, serves the one run, then shuts down.

import type { TrainConfig } from '@dtrain/common';
import type { DataLocation } from '@dtrain/common/files';
import { startState } from './checkpoint.js';
import { Coordinator, type CoordinatorOptions } from './coordinator.js';
import { type PoolOptions, WorkerPool } from './pool.js';
import type { RunSummary } from './summary.js';

export type SoloRunOptions = Omit<CoordinatorOptions, 'pool' | 'start'> &
  Omit<PoolOptions, 'maxParams'> & {
    /**
     * Called once the run's config has passed its one validation, before the pool listens: e.g. clear the
     * run directory (--overwrite) and fetch the dataset; where the data lives is its answer.
     */
    prepare?: (config: TrainConfig) => Promise<DataLocation>;
  };

export interface SoloRun {
  coord: Coordinator;
  pool: WorkerPool;
  port: number;
  /** Train to the end, then tell the workers and close the pool. */
  run(): Promise<RunSummary>;
}

export async function openSoloRun(o: SoloRunOptions): Promise<SoloRun> {
  const start = startState(o.config, o.resume, o.resumeOverrides);
  const data = o.prepare ? await o.prepare(start.config) : o.data;
  let log = o.log; // the pool's lines go to the run's log file too, once the run exists
  const pool = new WorkerPool({
    host: o.host,
    port: o.port,
    token: o.token,
    maxParams: start.weights.length,
    log: (line) => log(line),
    ...(o.heartbeatMs !== undefined ? { heartbeatMs: o.heartbeatMs } : {}),
    ...(o.pongDeadlineMs !== undefined ? { pongDeadlineMs: o.pongDeadlineMs } : {}),
    ...(o.tls ? { tls: o.tls } : {}),
  });
  const port = await pool.listen(); // before the run directory exists: a port in use leaves nothing behind
  let coord: Coordinator;
  try {
    coord = new Coordinator({ ...o, pool, start, ...(data ? { data } : {}) });
    const run = coord;
    log = (line) => run.log(line);
  } catch (e) {
    await pool.shutdown('the run could not start');
    throw e;
  }
  return {
    coord,
    pool,
    port,
    async run() {
      const summary = await coord.run();
      await pool.shutdown(summary.status === 'completed' ? 'run completed' : `run ${summary.status}`);
      return summary;
    },
  };
}
