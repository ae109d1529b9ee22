// A run's view of its pool while it lasts: workers joining, lost, demoted and promoted go to the run's
// records, and the ready count to whoever listens (the progress display); the line a worker's readiness logs.

import type { RunPool } from './pool.js';
import type { RunLog } from './run-log.js';
import type { WorkerConn } from './server.js';

export interface PoolWatch {
  /** The run's current step (events are recorded at it). */
  step: () => number;
  /** The number of ready workers changed. */
  onCount: (ready: number) => void;
  /** A worker was lost (the run may have been waiting only for it). */
  onLost: () => void;
}

/** Record the pool's events until the returned function is called. */
export function watchPool(pool: RunPool, records: RunLog, w: PoolWatch): () => void {
  const count = (): void => w.onCount(pool.ready().length);
  const handlers = {
    joined: (conn: WorkerConn): void => void (records.workerJoined(conn), count()),
    lost: (conn: WorkerConn, why: string): void => {
      records.workerLost(conn, why, w.step());
      count();
      w.onLost();
    },
    demoted: (conn: WorkerConn, ms: number): void => {
      records.event(w.step(), 'worker-demoted', `${conn.label} no answer within ${Math.round(ms)} ms`);
      count();
    },
    promoted: (conn: WorkerConn): void => void (records.event(w.step(), 'worker-promoted', conn.label), count()),
  };
  pool.on('joined', handlers.joined);
  pool.on('lost', handlers.lost);
  pool.on('demoted', handlers.demoted);
  pool.on('promoted', handlers.promoted);
  return () => {
    pool.off('joined', handlers.joined);
    pool.off('lost', handlers.lost);
    pool.off('demoted', handlers.demoted);
    pool.off('promoted', handlers.promoted);
  };
}

/** Most characters of a backend's reason on the worker-ready line (summary.json keeps all of it). */
const READY_REASON_CHARS = 120;

/** "worker w0 ready (backend wasm: why)", the why only the first time it is seen, cut to a line's length. */
export function readyLine(label: string, backend: string, reason: string, seen: Set<string>): string {
  const key = `${backend}\n${reason}`;
  if (seen.has(key)) return `worker ${label} ready (backend ${backend}, as above)`;
  seen.add(key);
  const why = reason.length > READY_REASON_CHARS ? `${reason.slice(0, READY_REASON_CHARS - 3)}...` : reason;
  return `worker ${label} ready (backend ${backend}${why ? `: ${why}` : ''})`;
}
