// One round of work (a training step's shards, or an evaluation's chunks) spread over the live workers.
// Tasks of a worker that disconnects, or that passes its deadline, go to the least-loaded live worker;
// the first result for a task wins and later ones are dropped as duplicates, so the round uses exactly
// the planned samples. Resolves once every task has a result.

import type { WorkerConn } from './server.js';

export interface RoundTask {
  id: number;
  frame: Uint8Array;
  count: number;
  /** Goes first to the live worker of this rank (by id); absent: the task's own index. */
  owner?: number;
}

export interface RoundHost {
  liveWorkers(): WorkerConn[];
  send(conn: WorkerConn, frame: Uint8Array): void;
  /**
   * How long a task may take before it also goes to another worker: a number, or one for the samples its
   * worker computes until it is done (its unfinished tasks, in the order sent, this one included: a worker
   * given ten evaluation chunks at once computes them one after another).
   */
  timeoutMs: number | ((samples: number) => number);
  /** Ids of the workers that held a task past its deadline (the pool demotes them). */
  missedDeadline?: (workerIds: number[]) => void;
  log: (line: string) => void;
}

export type ResultVerdict = 'accepted' | 'duplicate' | 'not-assigned';

export class Round<R> {
  private readonly results = new Map<number, R>();
  /** taskId -> workers currently holding it (first entry is the latest owner). */
  private readonly holders = new Map<number, Set<number>>();
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** The deadline each task was given when it was last sent. */
  private readonly deadlines = new Map<number, number>();
  private readonly byId = new Map<number, RoundTask>();
  private queue: number[] = [];
  private resolve: ((r: Map<number, R>) => void) | null = null;
  /** How many tasks were sent again after a loss or a deadline. */
  reassigned = 0;

  constructor(
    private readonly host: RoundHost,
    tasks: readonly RoundTask[],
  ) {
    for (const t of tasks) this.byId.set(t.id, t);
  }

  /** Assign task i (or its owner) to live worker i mod W (by worker id), then wait for every result. */
  run(): Promise<Map<number, R>> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      const workers = this.sortedLive();
      const tasks = [...this.byId.values()];
      if (workers.length === 0) {
        this.queue = tasks.map((t) => t.id);
        return;
      }
      tasks.forEach((t, i) => this.assign(t.id, workers[(t.owner ?? i) % workers.length]!));
      this.maybeDone();
    });
  }

  get pending(): number {
    return this.byId.size - this.results.size;
  }

  /** Record a worker's result. */
  offer(conn: WorkerConn, taskId: number, result: R): ResultVerdict {
    const holders = this.holders.get(taskId);
    if (!holders || !holders.has(conn.id)) {
      return this.results.has(taskId) ? 'duplicate' : 'not-assigned';
    }
    holders.delete(conn.id);
    if (this.results.has(taskId)) return 'duplicate';
    this.results.set(taskId, result);
    this.clearTimer(taskId);
    this.maybeDone();
    return 'accepted';
  }

  /** Whether this worker holds this task now (its report about the task may be believed). */
  holds(conn: WorkerConn, taskId: number): boolean {
    return this.holders.get(taskId)?.has(conn.id) ?? false;
  }

  /** The unfinished tasks this worker holds. */
  heldBy(conn: WorkerConn): number[] {
    return [...this.holders].filter(([id, h]) => h.has(conn.id) && !this.results.has(id)).map(([id]) => id);
  }

  expectedCount(taskId: number): number | undefined {
    return this.byId.get(taskId)?.count;
  }

  /** A worker disconnected: its unfinished tasks go to others. */
  workerLost(conn: WorkerConn): void {
    for (const [taskId, holders] of this.holders) {
      if (!holders.delete(conn.id) || this.results.has(taskId)) continue;
      if (holders.size === 0) this.reassign(taskId, `worker ${conn.label} left`);
    }
  }

  /** A worker became ready: give it queued tasks. */
  workerJoined(): void {
    this.drain();
  }

  cancel(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.resolve = null;
  }

  private sortedLive(): WorkerConn[] {
    return this.host.liveWorkers().sort((a, b) => a.id - b.id);
  }

  private load(conn: WorkerConn): number {
    let n = 0;
    for (const [taskId, h] of this.holders) if (h.has(conn.id) && !this.results.has(taskId)) n++;
    return n;
  }

  private assign(taskId: number, conn: WorkerConn): void {
    const task = this.byId.get(taskId)!;
    let holders = this.holders.get(taskId);
    if (!holders) this.holders.set(taskId, (holders = new Set()));
    holders.add(conn.id);
    this.host.send(conn, task.frame);
    this.arm(taskId, this.queuedSamples(conn));
  }

  /** (Re)start a task's deadline for a worker that has `samples` to compute until it is done. */
  private arm(taskId: number, samples: number): void {
    this.clearTimer(taskId);
    const t = this.host.timeoutMs;
    const ms = typeof t === 'number' ? t : t(samples);
    this.deadlines.set(taskId, ms);
    this.timers.set(
      taskId,
      setTimeout(() => this.onDeadline(taskId), ms),
    );
  }

  /** The samples of the unfinished tasks `conn` holds (sent in order, so all of them come before or with the last). */
  private queuedSamples(conn: WorkerConn): number {
    return this.heldBy(conn).reduce((n, taskId) => n + this.byId.get(taskId)!.count, 0);
  }

  private onDeadline(taskId: number): void {
    this.timers.delete(taskId);
    if (this.results.has(taskId)) return;
    const late = [...(this.holders.get(taskId) ?? [])];
    if (late.length > 0) this.host.missedDeadline?.(late);
    const names = this.host
      .liveWorkers()
      .filter((w) => late.includes(w.id))
      .map((w) => w.label);
    const who = names.length ? ` (held by ${names.join(', ')})` : '';
    this.reassign(taskId, `deadline of ${Math.round(this.deadlines.get(taskId) ?? 0)} ms passed${who}`);
  }

  private reassign(taskId: number, why: string): void {
    const holders = this.holders.get(taskId) ?? new Set<number>();
    const candidates = this.sortedLive().filter((w) => !holders.has(w.id));
    if (candidates.length === 0) {
      if (holders.size === 0) {
        this.queue.push(taskId);
        this.host.log(`task ${taskId}: ${why}; waiting for a worker`);
      } else {
        this.arm(taskId, this.byId.get(taskId)!.count);
      }
      return;
    }
    const target = candidates.reduce((best, w) => (this.load(w) < this.load(best) ? w : best));
    this.reassigned++;
    this.host.log(`task ${taskId}: ${why}; reassigned to ${target.label}`);
    this.assign(taskId, target);
  }

  private drain(): void {
    const queued = this.queue;
    this.queue = [];
    for (const id of queued) this.reassign(id, 'queued');
  }

  private clearTimer(taskId: number): void {
    const t = this.timers.get(taskId);
    if (t) clearTimeout(t);
    this.timers.delete(taskId);
  }

  private maybeDone(): void {
    if (this.results.size === this.byId.size && this.resolve) {
      const r = this.resolve;
      this.cancel();
      r(this.results);
    }
  }
}
