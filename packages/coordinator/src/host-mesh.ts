// A host server's part in sharded summation (common/slices.ts): it owns one slice of the parameter
// vector. Its mesh server (a CoordinatorServer: the same admission, token proof, sealed sessions and frame
// checks as the coordinator's) takes the other hosts' parts of that slice and joins them along the
// step's tree; the joined slice goes up to the coordinator. Its links (CoordinatorLinks, as a worker's)
// reach every other owner, to send them their parts of this host's sum. Weights come back the same way:
// the coordinator sends this host its slice, which it passes to every other host, and each host puts
// the slices together before its local workers get the version.

import { hostname } from 'node:os';
import {
  type AssignMsg,
  decompress,
  encode,
  encodeGradient,
  GradientCompressor,
  type GradientMsg,
  type GradWire,
  type MeshMsg,
  ownerOfSlice,
  type PartMsg,
  type Slice,
  SliceJoin,
  sliceLayout,
  sliceWire,
  streamOrder,
  TrainerError,
  type WeightsDeltaMsg,
  type WeightsMsg,
} from '@dtrain/common';
import { CoordinatorLink } from '@dtrain/worker/link';
import { deltaKernel } from '@dtrain/worker/quantize';
import { CoordinatorServer, type RunWelcome, type WorkerConn } from './server.js';
import { checkSlice, SliceAssembly } from './weight-slices.js';

export interface HostMeshOptions {
  /** Where peers dial this host's mesh server. */
  host: string;
  port: number;
  token: string | undefined;
  log: (line: string) => void;
}

interface MeshState {
  epoch: number;
  /** This host's owner index, the owners' count, and the slices each holds. */
  index: number;
  owners: number;
  chunks: number;
  layout: Slice[];
  links: Map<number, CoordinatorLink>;
}

/** Steps whose joins an owner keeps at once (the current one, and a late one's parts), per slice it owns. */
const OPEN_JOINS = 4;

export class HostMesh {
  private readonly server: CoordinatorServer;
  private params = 0;
  private state: MeshState | null = null;
  /** By step and slice ("step:slice"). */
  private readonly joins = new Map<string, { join: SliceJoin; version: number; flush: boolean }>();
  private assembly = new SliceAssembly(0);
  /** The run's gradient wire, and this owner's error feedback for the joined slices it sends up. */
  private wire: GradWire = 'fp32';
  private owned = new Map<number, GradientCompressor>();

  constructor(
    private readonly o: HostMeshOptions,
    /** This host's uplink to the coordinator (null between connections). */
    private readonly uplink: () => CoordinatorLink | null,
    /** A version put together from its slices, as if the coordinator had sent it whole. */
    private readonly publish: (whole: WeightsMsg | WeightsDeltaMsg) => void,
  ) {
    this.server = new CoordinatorServer({
      host: o.host,
      port: o.port,
      token: o.token,
      maxParams: 64 * 1024 * 1024,
      pooledReceive: false, // no rounds here to say when a slice is read: frames are not lent
      log: (l) => o.log(`[mesh] ${l}`),
    });
    this.server.on('mesh', (c, m) => (m.kind === 'part' ? this.onPart(c, m) : this.refuse(c, `"${m.kind}"`)));
  }

  listen(): Promise<number> {
    return this.server.listen();
  }

  /** The run the coordinator welcomed this host to: the mesh server serves the same one to its peers. */
  setRun(run: RunWelcome, params: number): void {
    this.params = params;
    this.wire = run.gradWire ?? 'fp32';
    this.assembly = new SliceAssembly(params);
    this.server.setRun(run, { paramCount: params, trainSize: 0, evalSize: 0 });
  }

  /** A new mesh from the coordinator: links to every other owner, then `meshReady` upward. */
  async form(m: MeshMsg): Promise<void> {
    this.drop();
    const { epoch, index, chunks } = m;
    const layout = sliceLayout(this.params, m.owners.length * chunks);
    const state: MeshState = { epoch, index, owners: m.owners.length, chunks, layout, links: new Map() };
    this.state = state;
    this.owned = new Map();
    try {
      await Promise.all(m.owners.map((url, j) => (j === m.index ? null : this.dial(state, j, url))));
    } catch (e) {
      this.o.log(`mesh: epoch ${m.epoch} not formed (${(e as Error).message}); the steps stay on the star`);
      return;
    }
    if (this.state === state) this.uplink()?.send({ kind: 'meshReady', epoch: m.epoch });
  }

  /**
   * A sharded task's sum: each slice to its owner (this host's own joined here), the counts upward. Under
   * --grad-wire the sum is compressed once, with this host's residual; a checkpointed step's goes whole.
   */
  send(msg: AssignMsg, g: GradientMsg, host: GradientCompressor): void {
    const s = this.state;
    const node = msg.node;
    if (!s || !node) throw new TrainerError('ERR_UNEXPECTED_MESSAGE', 'a sharded task arrived without a mesh');
    const flush = !!msg.flush;
    const wire = host.toWire(g.grad, flush);
    const head = {
      epoch: s.epoch,
      step: msg.step,
      version: msg.version,
      lo: node.lo,
      hi: node.hi,
      groups: node.groups,
    };
    for (const j of streamOrder(s.owners, s.chunks)) {
      const slice = s.layout[j]!;
      if (slice.length === 0) continue;
      const part = sliceWire(wire, slice);
      const fields = { kind: 'part' as const, ...head, index: j, ...(flush ? { flush } : {}) };
      const owner = ownerOfSlice(j, s.chunks);
      if (owner === s.index) this.join({ ...fields, grad: decompress(part, new Float32Array(slice.length)) });
      else s.links.get(owner)?.sendFrame(encodeGradient(fields, part));
    }
    this.uplink()?.send({ ...g, grad: new Float32Array(0), sliced: true });
  }

  /** A slice of the weights: this host's own from the coordinator (passed on to every peer), or another's. */
  weights(m: WeightsMsg | WeightsDeltaMsg, fromCoordinator: boolean): void {
    const s = this.state;
    if (!s) return;
    checkSlice(m, s.layout); // before it is passed on: a bad slice stops here, named
    if (fromCoordinator) {
      const frame = encode(m);
      for (const c of this.server.readyWorkers()) this.server.send(c, frame);
    }
    const whole = this.assembly.add(m, s.layout);
    if (whole) this.publish(whole);
  }

  /**
   * What this host waits for from the mesh, for a hang's attribution: the version being put together and
   * the slices (with their owners) not in yet; null when nothing is pending.
   */
  waiting(): string | null {
    const s = this.state;
    const m = s && this.assembly.missing(s.layout);
    if (!s || !m) return null;
    const whose = m.slices.map((j) => `${j} (owner ${ownerOfSlice(j, s.chunks)})`).join(', ');
    return `version ${m.version} from the mesh (epoch ${s.epoch}) lacks slices ${whose}`;
  }

  /** A whole version came on the star: a partial one at or below it is moot. */
  wholeArrived(version: number): void {
    this.assembly.drop(version);
  }

  async close(): Promise<void> {
    this.drop();
    await this.server.close();
  }

  private drop(): void {
    for (const l of this.state?.links.values() ?? []) l.close();
    this.state = null;
    this.joins.clear();
    this.assembly.drop(Number.MAX_SAFE_INTEGER);
  }

  private async dial(state: MeshState, j: number, url: string): Promise<void> {
    const link = await CoordinatorLink.open(url);
    state.links.set(j, link);
    await link.join({ token: this.o.token, name: `${hostname()}-mesh` });
    void this.read(state, link);
  }

  /** What an owner sends this host: slices of the weights, and a new run's welcome (answered as a worker's). */
  private async read(state: MeshState, link: CoordinatorLink): Promise<void> {
    try {
      for (let m = await link.next(); m && this.state === state; m = await link.next()) {
        if (m.kind === 'weights' || m.kind === 'weightsDelta') this.weights(m, false);
        else if (m.kind === 'welcome')
          link.send({ kind: 'ready', modelFingerprint: m.modelFingerprint, datasetFingerprint: m.datasetFingerprint });
      }
    } catch (e) {
      this.o.log(`mesh: a link of epoch ${state.epoch} failed: ${(e as Error).message}`);
      link.close();
    }
  }

  private onPart(c: WorkerConn, m: PartMsg): void {
    const s = this.state;
    if (!s || m.epoch !== s.epoch) return; // a part of a mesh that was re-formed since
    if (m.index >= s.layout.length || ownerOfSlice(m.index, s.chunks) !== s.index)
      return this.refuse(c, `a part of slice ${m.index} (this host is owner ${s.index})`);
    try {
      this.join(m);
    } catch (e) {
      this.server.reject(c, e instanceof TrainerError ? e : new TrainerError('ERR_BAD_FRAME', String(e)));
    }
  }

  /** A part of this host's slice: joined along the step's tree; once whole, the slice goes up (compressed with this owner's residual). */
  private join(m: PartMsg): void {
    const s = this.state!;
    const key = `${m.step}:${m.index}`;
    let j = this.joins.get(key);
    if (!j) {
      j = { join: new SliceJoin(m.groups, s.layout[m.index]!), version: m.version, flush: false };
      this.joins.set(key, j);
      for (const k of this.joins.keys()) if (this.joins.size > OPEN_JOINS * s.chunks) this.joins.delete(k);
    }
    if (j.join.groups !== m.groups || j.version !== m.version)
      throw new TrainerError('ERR_BAD_FRAME', `a part of step ${m.step} disagrees with its tree or version`);
    j.flush ||= !!m.flush;
    if (!j.join.add(m.lo, m.hi, m.grad) || !j.join.complete) return;
    this.joins.delete(key);
    const fields = { kind: 'slice' as const, epoch: s.epoch, step: m.step, version: m.version, index: m.index };
    const sum = j.join.sum();
    let own = this.owned.get(m.index);
    if (!own) this.owned.set(m.index, (own = new GradientCompressor(this.wire, deltaKernel()))); // a residual per slice
    this.uplink()?.sendFrame(encodeGradient(fields, own.toWire(sum, j.flush)));
  }

  private refuse(c: WorkerConn, what: string): void {
    this.server.reject(c, new TrainerError('ERR_UNEXPECTED_MESSAGE', `${what} is not for a host's mesh server`));
  }
}
