// Sharded summation at the coordinator (common/slices.ts; the hosts' side is host-mesh.ts): which host
// servers form a run's mesh, and one step's round through it. A mesh is formed over the ready
// connections when every one of them is a host server with a mesh port (two or more); its owners are
// those connections in id order, owner j summing slice j. A step goes through the mesh only once every
// owner said its links are up; otherwise, and whenever an owner is lost, the step goes through the star
// (the relays' whole sums), so a lost host costs one step's repeat and never a sample.

import {
  chunksPerOwner,
  groupSizeOf,
  ownerOfSlice,
  type Slice,
  type SlicedReducer,
  type SliceMsg,
  sliceLayout,
  sliceWire,
  streamOrder,
  type TrainConfig,
  TrainerError,
  type WeightsDeltaMsg,
} from '@dtrain/common';
import { AdaptiveDeadline } from './deadline.js';
import type { MeshPool, RoundOutcome, RunPool, StepRound } from './pool-types.js';
import type { WorkerConn } from './server.js';
import type { Published } from './weights-frame.js';

/** Where an owner's mesh server is reached: the address its uplink came from, the port its hello named. */
export function meshUrl(c: Pick<WorkerConn, 'address' | 'hello'>): string {
  const a = c.address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
  return `ws://${a.includes(':') ? `[${a}]` : a}:${c.hello?.mesh ?? 0}`;
}

/**
 * A run's mesh, where it may have one (host servers in its pool, the invariant reduction): slices of about
 * 16 kB on the wire (1 int8 block a slice in float32, 4 in int8 both ways).
 */
export function runMesh(
  c: Pick<TrainConfig, 'gradWire' | 'weightWire' | 'groupSize' | 'batchSize'>,
  pool: RunPool,
  params: number,
  log: (line: string) => void,
): MeshPlan | null {
  if (!pool.mesh || groupSizeOf(c) === 0) return null;
  const bytes = (w: string | undefined) => (!w || w === 'fp32' ? 4 : w === 'int8' ? 1 : 2);
  const widest = Math.max(bytes(c.gradWire), bytes(c.weightWire));
  return new MeshPlan(pool as RunPool & { mesh: MeshPool }, params, log, undefined, 4 / widest, widest < 4);
}

/** How long a mesh may take to link up before the coordinator says why the steps stay on the star. */
const MESH_READY_MS = 30_000;

export class MeshPlan {
  private epochNo = 0;
  private owners: WorkerConn[] = [];
  private readonly acked = new Set<number>();
  private layoutOf: Slice[] = [];
  /** Slices per owner (chunksPerOwner). */
  private chunks = 1;
  private formedAt = 0;
  private warned = false;
  /**
   * An epoch did not link up within its wait and none has since: hosts that cannot reach each other (a firewall
   * on the mesh ports) would cost every new epoch (a host joining or leaving) the whole wait again, so later
   * epochs go through the star until they link, as fp32 ones do.
   */
  private failedToLink = false;
  private readonly onReady = (c: WorkerConn, epoch: number): void => {
    if (epoch === this.epochNo && this.owners.includes(c)) this.acked.add(c.id);
    if (this.linked) this.wake?.();
  };
  /** Ends a wait for the mesh to link up. */
  private wake: (() => void) | null = null;
  /** How long a step's last slice takes after its counts are in (adaptive, as shard deadlines are). */
  private readonly sliceWait = new AdaptiveDeadline();
  /** An owner was lost: the next step forms a mesh of those left (the current one still knows its owners). */
  private broken = false;
  private readonly onLost = (c: WorkerConn): void => {
    if (this.owners.includes(c)) this.broken = true;
  };

  constructor(
    private readonly pool: RunPool & { mesh: MeshPool },
    private readonly params: number,
    private readonly log: (line: string) => void,
    /** How long a new mesh may take to link up (a step waits for it) before the steps go through the star. */
    private readonly readyMs = MESH_READY_MS,
    /** Int8 blocks per slice (chunksPerOwner): about 16 kB on the wire whatever it carries. */
    private readonly blocksPerChunk = 1,
    /**
     * Whether a step waits (up to readyMs) for a new mesh to link up: under a lossy wire the star and the
     * mesh differ in their bits, and a run must not depend on how fast hosts linked up. In fp32 they are the
     * same bits, so steps go through the star until the mesh is ready.
     */
    private readonly waitToLink = true,
  ) {
    pool.on('meshReady', this.onReady);
    pool.on('lost', this.onLost);
  }

  detach(): void {
    this.pool.off('meshReady', this.onReady);
    this.pool.off('lost', this.onLost);
  }

  get epoch(): number {
    return this.epochNo;
  }

  get layout(): readonly Slice[] {
    return this.layoutOf;
  }

  /** The owner of slice `index` (owners hold runs of `chunks` slices). */
  ownerOf(index: number): WorkerConn | undefined {
    return this.owners[ownerOfSlice(index, this.chunks)];
  }

  isOwner(c: WorkerConn): boolean {
    return this.owners.includes(c);
  }

  /** A step's slices were all in `ms` after its counts (0 when they came first). */
  slicesTook(ms: number): void {
    this.sliceWait.observe(Math.max(ms, 0.01), 1);
  }

  /**
   * How long a step waits for its slices once its counts are in: ADAPTIVE_DEADLINE_FACTOR x the recent median,
   * at least the floor, at most `ceilingMs` (--step-timeout; also until enough steps were timed). So a dead link
   * between hosts costs a step seconds, not the whole step timeout.
   */
  sliceDeadline(ceilingMs: number): number {
    return this.sliceWait.forTask(1, ceilingMs);
  }

  /** A step waited past its time for these slices: say whose they are (the hang is attributed, not guessed). */
  late(step: number, missing: readonly number[], ms: number): void {
    const whose = missing.map((j) => `slice ${j} (owner ${this.ownerOf(j)?.label ?? '?'})`).join(', ');
    this.log(`step ${step}: ${whose} did not come within ${(ms / 1000).toFixed(1)} s of the step's counts`);
    this.broken = true; // a link between hosts may be dead: the next step forms a mesh anew
  }

  /**
   * A version as slices, each to its owner (which passes it on to the other hosts), where not sent yet: the
   * delta's slices where every owner holds its base, else the weights' (the view, whole).
   */
  publish(p: Published): void {
    const atBase = !!p.delta && this.owners.every((c) => this.hasVersion(c, p.delta!.base));
    const due = this.owners.map((c) => !this.hasVersion(c, p.version));
    for (const j of streamOrder(this.owners.length, this.chunks)) {
      const owner = ownerOfSlice(j, this.chunks);
      if (!due[owner]) continue;
      if (atBase)
        this.pool.mesh.publishSlice({ ...deltaSlice(p.delta!, this.layoutOf[j]!), slice: j }, this.owners[owner]!);
      else this.publishSlice(p.version, j, p.weights);
    }
  }

  /** Slice `index` of the weights at `version` to its owner. */
  publishSlice(version: number, index: number, weights: Float32Array): void {
    const { offset, length } = this.layoutOf[index]!;
    const data = weights.subarray(offset, offset + length);
    this.pool.mesh.publishSlice({ kind: 'weights', version, slice: index, data }, this.ownerOf(index)!);
  }

  /** A slice of a weight delta (WeightView.publishSlice) to its owner. */
  publishDelta(msg: WeightsDeltaMsg & { slice: number }): void {
    this.pool.mesh.publishSlice(msg, this.ownerOf(msg.slice)!);
  }

  private hasVersion(c: WorkerConn, version: number): boolean {
    return this.pool.mesh.hasVersion(c, version);
  }

  /** At a step's start: forms the mesh anew if the ready connections changed; true once it is ready to use. */
  async prepare(ready: readonly WorkerConn[], signal?: AbortSignal): Promise<boolean> {
    const hosts = ready.filter((c) => c.hello?.mesh !== undefined);
    if (hosts.length < 2 || hosts.length !== ready.length) {
      if (this.owners.length > 0) this.log(`mesh: epoch ${this.epochNo} ends; the steps go through the star`);
      this.owners = [];
      return false;
    }
    const sorted = [...hosts].sort((a, b) => a.id - b.id);
    if (this.broken || sorted.length !== this.owners.length || sorted.some((c, i) => c !== this.owners[i]))
      this.form(sorted);
    // under a lossy wire a new mesh is waited for (up to readyMs), so a step goes through the star only when
    // it cannot form (waitToLink)
    const left = this.readyMs - (Date.now() - this.formedAt);
    if (!this.linked && left > 0 && this.waitToLink && !this.failedToLink) await this.linkedWithin(left, signal);
    if (this.linked) this.failedToLink = false;
    else if (!this.warned && Date.now() - this.formedAt >= this.readyMs) {
      this.warned = true;
      this.failedToLink = true;
      this.log(
        `mesh: epoch ${this.epochNo} not ready after ${this.readyMs / 1000} s (${this.acked.size} of ${this.owners.length} ` +
          'hosts reached every other one); the steps go through the star, and later epochs do not wait for the ' +
          "mesh until one links up. Hosts must reach each other's mesh port (dtrain relay --mesh-port; --no-mesh " +
          'turns it off)',
      );
    }
    return this.linked;
  }

  private get linked(): boolean {
    return this.owners.length > 0 && this.acked.size === this.owners.length;
  }

  private linkedWithin(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.wake = done;
    });
  }

  private form(owners: WorkerConn[]): void {
    this.epochNo++;
    this.broken = false;
    this.formedAt = Date.now();
    this.warned = false;
    this.owners = owners;
    this.acked.clear();
    // hosts drop a version still being put together when a new mesh forms (its slices went through the old
    // owners): the current version goes again, whole, through the new owners
    this.pool.mesh.forgetSent();
    this.chunks = chunksPerOwner(this.params, owners.length, this.blocksPerChunk);
    this.layoutOf = sliceLayout(this.params, owners.length * this.chunks);
    const urls = owners.map(meshUrl);
    const { chunks, epochNo: epoch } = this;
    owners.forEach((c, index) => this.pool.mesh.send(c, { kind: 'mesh', epoch, index, owners: urls, chunks }));
    const sizes = this.layoutOf.map((s) => s.length).join('/');
    const each = this.chunks > 1 ? `, ${this.chunks} slices each` : '';
    this.log(
      `mesh: epoch ${this.epochNo} over ${owners.length} host servers${each} (${urls.join(' ')}; slices ${sizes})`,
    );
  }
}

/**
 * One step's round through the mesh: the tasks' counts through the pool's round, the owners' slices into
 * `reducer` as they come. 'fallback' when an owner was lost or a slice did not come within the step's
 * time: the caller repeats the step through the star.
 */
export async function shardedRound(
  pool: RunPool & { mesh: MeshPool },
  plan: MeshPlan,
  spec: StepRound,
  reducer: SlicedReducer,
  signal: AbortSignal,
  /** Each slice as its mean lands (it may be applied at once); a throw ends the round with that error. */
  onMean: (index: number, slice: Slice) => void = () => undefined,
): Promise<RoundOutcome | null | 'fallback'> {
  const stop = new AbortController();
  let failure: unknown = null;
  const halt = (): void => stop.abort();
  signal.addEventListener('abort', halt);
  let fallback = false;
  let slicesIn: () => void = () => undefined;
  const whole = new Promise<void>((r) => (slicesIn = r));
  const onLost = (c: WorkerConn): void => {
    if (!plan.isOwner(c)) return;
    fallback = true;
    stop.abort();
    slicesIn();
  };
  const onSlice = sliceTaker(pool, plan, spec.step, reducer, onMean, (e) => {
    if (e !== undefined) {
      failure = e; // a slice diverged: the round ends here
      stop.abort();
    }
    slicesIn();
  });
  pool.on('lost', onLost);
  pool.on('slice', onSlice);
  try {
    const outcome = await pool.runRound({ ...spec, sliced: true }, stop.signal);
    if (failure !== null) throw failure;
    if (fallback) return 'fallback';
    if (!outcome || outcome.diverged || outcome.failed) return outcome;
    const [countsIn, waitMs] = [performance.now(), plan.sliceDeadline(spec.timeoutMs)];
    const late = setTimeout(() => {
      plan.late(spec.step, reducer.missingSlices(), waitMs);
      fallback = true;
      slicesIn();
    }, waitMs);
    await whole;
    clearTimeout(late);
    if (!fallback) plan.slicesTook(performance.now() - countsIn);
    if (failure !== null) throw failure;
    return fallback ? 'fallback' : outcome;
  } finally {
    signal.removeEventListener('abort', halt);
    pool.off('lost', onLost);
    pool.off('slice', onSlice);
  }
}

/**
 * What takes the owners' slices of step `step`: an earlier attempt's are dropped, a stranger's refused;
 * each lands in the reducer and goes to `onMean`; `done` once all are in (or with what `onMean` threw).
 */
function sliceTaker(
  pool: { mesh: MeshPool },
  plan: MeshPlan,
  step: number,
  reducer: SlicedReducer,
  onMean: (index: number, slice: Slice) => void,
  done: (failure?: unknown) => void,
): (c: WorkerConn, m: SliceMsg) => void {
  return (c, m) => {
    if (m.epoch !== plan.epoch || m.step !== step) return;
    if (plan.ownerOf(m.index) !== c)
      return pool.mesh.reject(c, new TrainerError('ERR_UNEXPECTED_MESSAGE', `slice ${m.index} is not this host's`));
    let slice: Slice;
    try {
      slice = reducer.addSlice(m.index, m.grad);
    } catch (e) {
      return pool.mesh.reject(c, e instanceof TrainerError ? e : new TrainerError('ERR_BAD_FRAME', String(e)));
    }
    try {
      onMean(m.index, slice);
    } catch (e) {
      return done(e);
    }
    if (reducer.slicesComplete) done();
  };
}

/** A slice of a weight delta: its values, and for int8 its blocks' scales (slices start at block edges). */
function deltaSlice(d: WeightsDeltaMsg, s: Slice): WeightsDeltaMsg {
  const part = sliceWire({ wire: d.wire, data: d.data, ...(d.scales ? { scales: d.scales } : {}) }, s);
  return { ...d, data: part.data as Int8Array | Uint16Array, ...(part.scales ? { scales: part.scales } : {}) };
}
