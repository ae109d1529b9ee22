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
  encode,
  type GradientMsg,
  type MeshMsg,
  type PartMsg,
  type Slice,
  SliceJoin,
  sliceLayout,
  TrainerError,
  type WeightsMsg,
  type WorkerMsg,
} from '@dtrain/common';
import { CoordinatorLink } from '@dtrain/worker/link';
import { CoordinatorServer, type RunWelcome, type WorkerConn } from './server.js';

export interface HostMeshOptions {
  /** Where peers dial this host's mesh server. */
  host: string;
  port: number;
  token: string | undefined;
  log: (line: string) => void;
}

interface MeshState {
  epoch: number;
  index: number;
  layout: Slice[];
  links: Map<number, CoordinatorLink>;
}

/** Steps whose joins an owner keeps at once (the current one, and a late one's parts). */
const OPEN_JOINS = 4;

export class HostMesh {
  private readonly server: CoordinatorServer;
  private params = 0;
  private state: MeshState | null = null;
  private readonly joins = new Map<number, { join: SliceJoin; version: number }>();
  private assembly: { version: number; data: Float32Array; have: Set<number> } | null = null;

  constructor(
    private readonly o: HostMeshOptions,
    /** To the coordinator, on this host's uplink. */
    private readonly up: (msg: WorkerMsg) => void,
    /** A version put together from its slices: on to the local workers. */
    private readonly publish: (version: number, weights: Float32Array) => void,
  ) {
    this.server = new CoordinatorServer({
      host: o.host,
      port: o.port,
      token: o.token,
      maxParams: 64 * 1024 * 1024,
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
    this.server.setRun(run, { paramCount: params, trainSize: 0, evalSize: 0 });
  }

  /** A new mesh from the coordinator: links to every other owner, then `meshReady` upward. */
  async form(m: MeshMsg): Promise<void> {
    this.drop();
    const state: MeshState = {
      epoch: m.epoch,
      index: m.index,
      layout: sliceLayout(this.params, m.owners.length),
      links: new Map(),
    };
    this.state = state;
    try {
      await Promise.all(m.owners.map((url, j) => (j === m.index ? null : this.dial(state, j, url))));
    } catch (e) {
      this.o.log(`mesh: epoch ${m.epoch} not formed (${(e as Error).message}); the steps stay on the star`);
      return;
    }
    if (this.state === state) this.up({ kind: 'meshReady', epoch: m.epoch });
  }

  /** A sharded task's sum: each slice to its owner (this host's own joined here), the counts upward. */
  send(msg: AssignMsg, g: GradientMsg): void {
    const s = this.state;
    const node = msg.node;
    if (!s || !node) throw new TrainerError('ERR_UNEXPECTED_MESSAGE', 'a sharded task arrived without a mesh');
    const head = {
      epoch: s.epoch,
      step: msg.step,
      version: msg.version,
      lo: node.lo,
      hi: node.hi,
      groups: node.groups,
    };
    s.layout.forEach((slice, j) => {
      if (slice.length === 0) return;
      const grad = g.grad.subarray(slice.offset, slice.offset + slice.length);
      if (j === s.index) this.join({ kind: 'part', ...head, index: j, grad: grad.slice() });
      else s.links.get(j)?.send({ kind: 'part', ...head, index: j, grad });
    });
    this.up({ ...g, grad: new Float32Array(0), sliced: true });
  }

  /** A slice of the weights: this host's own from the coordinator (passed on to every peer), or another's. */
  weights(m: WeightsMsg, fromCoordinator: boolean): void {
    const s = this.state;
    if (!s || m.slice === undefined || m.slice >= s.layout.length) return;
    if (fromCoordinator) {
      const frame = encode(m);
      for (const c of this.server.readyWorkers()) this.server.send(c, frame);
    }
    const slice = s.layout[m.slice]!;
    if (m.data.length !== slice.length) return this.o.log(`mesh: a slice of ${m.data.length} values; dropped`);
    if (this.assembly && m.version < this.assembly.version) return;
    if (this.assembly?.version !== m.version)
      this.assembly = { version: m.version, data: new Float32Array(this.params), have: new Set() };
    const a = this.assembly;
    a.data.set(m.data, slice.offset);
    a.have.add(m.slice);
    if (a.have.size === s.layout.filter((x) => x.length > 0).length) {
      this.assembly = null;
      this.publish(a.version, a.data);
    }
  }

  /** A whole version came on the star: a partial one at or below it is moot. */
  wholeArrived(version: number): void {
    if (this.assembly && this.assembly.version <= version) this.assembly = null;
  }

  async close(): Promise<void> {
    this.drop();
    await this.server.close();
  }

  private drop(): void {
    for (const l of this.state?.links.values() ?? []) l.close();
    this.state = null;
    this.joins.clear();
    this.assembly = null;
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
        if (m.kind === 'weights') this.weights(m, false);
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
    if (m.index !== s.index) return this.refuse(c, `a part of slice ${m.index} (this host owns ${s.index})`);
    try {
      this.join(m);
    } catch (e) {
      this.server.reject(c, e instanceof TrainerError ? e : new TrainerError('ERR_BAD_FRAME', String(e)));
    }
  }

  /** A part of this host's slice: joined along the step's tree; once whole, the slice goes up. */
  private join(m: PartMsg): void {
    const s = this.state!;
    let j = this.joins.get(m.step);
    if (!j) {
      j = { join: new SliceJoin(m.groups, s.layout[s.index]!), version: m.version };
      this.joins.set(m.step, j);
      for (const step of this.joins.keys()) if (this.joins.size > OPEN_JOINS) this.joins.delete(step);
    }
    if (j.join.groups !== m.groups || j.version !== m.version)
      throw new TrainerError('ERR_BAD_FRAME', `a part of step ${m.step} disagrees with its tree or version`);
    if (!j.join.add(m.lo, m.hi, m.grad) || !j.join.complete) return;
    this.joins.delete(m.step);
    const { epoch, index } = s;
    this.up({ kind: 'slice', epoch, step: m.step, version: m.version, index, grad: j.join.sum() });
  }

  private refuse(c: WorkerConn, what: string): void {
    this.server.reject(c, new TrainerError('ERR_UNEXPECTED_MESSAGE', `${what} is not for a host's mesh server`));
  }
}
