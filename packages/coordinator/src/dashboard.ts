// The live dashboard (`--dashboard-port`): a read-only HTTP server beside the workers' WebSocket server, on
// loopback unless told otherwise. GET / is the page (dashboard-page.ts); GET /events is a stream of
// server-sent events: a snapshot first, then every step, evaluation and worker change as it happens; nothing
// polls files. With a token (the run's), both need it (?token=, compared in constant time); anything else is
// 404/405; at most MAX_VIEWERS streams at once. Viewers cannot change the run.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describeOptimizer, isLoopback, TrainerError, UPGRADE_HEADERS_TIMEOUT_MS } from '@dtrain/common';
import type { Coordinator } from './coordinator.js';
import { dashboardPage } from './dashboard-page.js';
import { DashboardState, type GridRow, type Update } from './dashboard-state.js';
import type { RunPool } from './pool.js';
import type { WorkerConn } from './server.js';

/** Most event streams served at once (a page each). */
export const MAX_VIEWERS = 16;
/** A comment line this often keeps idle streams open through proxies. */
const KEEPALIVE_MS = 15_000;

export interface DashboardOptions {
  host: string;
  port: number;
  token: string | undefined;
  log: (line: string) => void;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Dashboard {
  private readonly viewers = new Set<ServerResponse>();
  private readonly sockets = new Set<Socket>();
  private state: DashboardState | null = null;
  /** A sweep's runs (null for a single run). */
  private grid: GridRow[] | null = null;
  private readonly keepalive: NodeJS.Timeout;

  private constructor(
    private readonly server: Server,
    private readonly o: DashboardOptions,
  ) {
    this.keepalive = setInterval(() => this.send(': keepalive\n\n'), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /** Listen; the port is chosen by the OS when 0. */
  static async open(o: DashboardOptions): Promise<Dashboard> {
    const server = createServer({
      headersTimeout: UPGRADE_HEADERS_TIMEOUT_MS,
      requestTimeout: 2 * UPGRADE_HEADERS_TIMEOUT_MS,
    });
    const d = new Dashboard(server, o);
    server.on('connection', (s: Socket) => {
      d.sockets.add(s);
      s.once('close', () => d.sockets.delete(s));
      s.on('error', () => undefined); // a viewer that goes away mid-write is not an error of the run
    });
    server.on('request', (req, res) => d.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      const refuse = (e: Error) =>
        reject(
          new TrainerError('ERR_BAD_CONFIG', `--dashboard-port ${o.port} on ${o.host}: ${e.message}`, {
            hint: 'choose another --dashboard-port (0: any free one)',
          }),
        );
      server.once('error', refuse);
      server.listen(o.port, o.host, () => {
        server.off('error', refuse);
        server.on('error', (e) => o.log(`dashboard: ${e.message}`)); // never the run's end
        resolve();
      });
    });
    if (!isLoopback(o.host) && !o.token)
      o.log(`dashboard: listening on ${o.host} without a token: anyone who reaches it sees the run`);
    return d;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    const host = this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
    return `http://${host}:${port}/${this.o.token ? `?token=${encodeURIComponent(this.o.token)}` : ''}`;
  }

  /** Show `coord`'s run (its pool's workers too) from now on; returns what stops that. */
  attach(coord: Coordinator, pool: RunPool): () => void {
    const c = coord.config;
    const state = new DashboardState({
      runId: coord.runId,
      model: c.modelSpec?.name ?? c.model,
      dataset: c.dataset.name,
      batchSize: c.batchSize,
      workersWanted: c.workers,
      totalSteps: coord.derived.totalSteps,
      optimizer: describeOptimizer(c.optimizer),
      status: 'running',
    });
    this.state = state;
    for (const conn of pool.ready()) state.worker(conn.label, identity(conn));
    this.send(frame('snapshot', this.snapshot())); // pages open on an earlier run start over

    const on = {
      step: (r: Parameters<DashboardState['step']>[0]) => this.publish(state.step(r)),
      eval: (r: Parameters<DashboardState['evaluation']>[0]) => this.publish(state.evaluation(r)),
      shard: (label: string, samples: number) => state.shard(label, samples),
      joined: (conn: WorkerConn) =>
        this.publish(state.worker(conn.label, { ...identity(conn), state: 'ready', why: '' })),
      lost: (conn: WorkerConn, why: string) => this.publish(state.worker(conn.label, { state: 'lost', why })),
      demoted: (conn: WorkerConn, ms: number) =>
        this.publish(state.worker(conn.label, { state: 'demoted', why: `no answer within ${Math.round(ms)} ms` })),
      promoted: (conn: WorkerConn) => this.publish(state.worker(conn.label, { state: 'ready', why: '' })),
    };
    coord.on('step', on.step).on('eval', on.eval).on('shard', on.shard);
    pool.on('joined', on.joined);
    pool.on('lost', on.lost);
    pool.on('demoted', on.demoted);
    pool.on('promoted', on.promoted);
    return () => {
      coord.off('step', on.step).off('eval', on.eval).off('shard', on.shard);
      pool.off('joined', on.joined);
      pool.off('lost', on.lost);
      pool.off('demoted', on.demoted);
      pool.off('promoted', on.promoted);
    };
  }

  /** A sweep's or experiment's runs, shown as a grid above the current run. */
  setGrid(rows: GridRow[]): void {
    this.grid = rows;
    this.publish({ kind: 'grid', grid: rows });
  }

  /** One grid row changed (its state or result). */
  updateGrid(i: number, change: Partial<GridRow>): void {
    if (!this.grid?.[i]) return;
    Object.assign(this.grid[i]!, change);
    this.publish({ kind: 'grid', grid: this.grid });
  }

  private snapshot() {
    return { ...(this.state?.snapshot() ?? { run: null, points: [], evals: [], workers: [] }), grid: this.grid };
  }

  /** The run ended: viewers see how. */
  finished(status: string): void {
    if (this.state) this.publish(this.state.status(status));
  }

  async close(): Promise<void> {
    clearInterval(this.keepalive);
    for (const v of this.viewers) v.end();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    if (req.method !== 'GET') return void res.writeHead(405, { allow: 'GET' }).end();
    if (this.o.token && !sameSecret(url.searchParams.get('token') ?? '', this.o.token)) {
      return void res.writeHead(401, { 'content-type': 'text/plain' }).end('this run needs its token: ?token=...\n');
    }
    if (url.pathname === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      return void res.end(dashboardPage());
    }
    if (url.pathname !== '/events') return void res.writeHead(404).end();
    if (this.viewers.size >= MAX_VIEWERS) return void res.writeHead(503).end();
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    this.viewers.add(res);
    res.once('close', () => this.viewers.delete(res));
    if (this.state || this.grid) res.write(frame('snapshot', this.snapshot()));
  }

  private publish(u: Update): void {
    this.send(frame(u.kind, u));
  }

  private send(text: string): void {
    for (const v of this.viewers) v.write(text);
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function identity(conn: WorkerConn) {
  return { host: conn.hello?.host ?? '', backend: conn.hello?.backend ?? '' };
}

function sameSecret(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}
