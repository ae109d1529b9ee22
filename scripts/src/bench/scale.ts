// `dtrain bench scale`: the coordinator's ceiling. For each model size and worker count N, a real
// coordinator and N simulated workers (bench echo-worker: real sockets and frames, no tfjs, a fixed
// compute time per step) run `--steps` steps; per point it prints the step time, the coordinator's CPU
// per step, the bytes through its link per step, a memcpy of those bytes for scale, and, for a link of
// --link-gbit, the two lower bounds: this design's (the coordinator's link carries N x P x 4 bytes each
// way) and a ring allreduce's (2 (N-1)/N x P x 4 bytes per link).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildManifest,
  type GradWire,
  getModelSpec,
  median,
  paramCount,
  type TrainConfig,
  TrainerError,
  type WeightWire,
} from '@dtrain/common';
import { openSoloRun, type StepRecord } from '@dtrain/coordinator';
import { syntheticCacheDir } from '../data/fetch.js';
import { allExited } from '../processes/children.js';
import { CLI_PATH as CLI } from '../processes/path.js';
import { NetHarness, rateBits } from './netns.js';

export interface ScalePoint {
  model: string;
  params: number;
  workers: number;
  steps: number;
  /** Of them, summed by the hosts' mesh (sharded summation). */
  meshSteps: number;
  computeMs: number;
  gradWire: GradWire;
  weightWire: WeightWire;
  stepMs: number;
  coordCpuMsPerStep: number;
  coordMs: number;
  bytesInPerStep: number;
  bytesOutPerStep: number;
  memcpyMsPerStep: number;
  linkGbit: number | null;
  flatBoundMs: number | null;
  ringBoundMs: number | null;
  /** On namespace hosts: what each link carried per warm step (tc's counters, frames and ACKs included). */
  linkBytesPerStep?: Record<string, { up: number; down: number }>;
}

type LinkCounters = () => Map<string, { up: number; down: number }>;

/** Per-step bytes of each link between two counter snapshots `steps` steps apart. */
export function perStep(
  a: ReturnType<LinkCounters>,
  b: ReturnType<LinkCounters>,
  steps: number,
): Record<string, { up: number; down: number }> {
  const out: Record<string, { up: number; down: number }> = {};
  for (const [host, end] of b) {
    const start = a.get(host) ?? { up: 0, down: 0 };
    out[host] = { up: Math.round((end.up - start.up) / steps), down: Math.round((end.down - start.down) / steps) };
  }
  return out;
}

/** Where simulated workers run: local processes, or (namespace hosts) a command prefix per worker. */
export type WorkerSpawner = (i: number, url: string) => ChildProcess;

export const localEchoWorkers =
  (computeMs: number): WorkerSpawner =>
  (_i, url) =>
    spawn(process.execPath, [CLI, 'bench', 'echo-worker', '--connect', url, '--compute-ms', String(computeMs)], {
      stdio: 'inherit',
    });

function benchConfig(model: string, workers: number, steps: number, wires: Wires): TrainConfig {
  return {
    ...(wires.gradWire === 'fp32' ? {} : { gradWire: wires.gradWire }),
    ...(wires.weightWire === 'fp32' ? {} : { weightWire: wires.weightWire }),
    model,
    dataset: {
      name: 'synthetic',
      trainSize: Math.max(1000, 8 * workers),
      testSize: 10,
      seed: 1,
      valFraction: 0,
      normalize: false,
      augment: false,
    },
    seed: 1,
    batchSize: 4 * workers,
    epochs: 1000,
    maxSteps: steps,
    lr: 1e-6,
    schedule: 'constant',
    decaySteps: 1,
    gamma: 1,
    minLr: 0,
    warmupSteps: 0,
    scaling: 'none',
    baseBatchSize: 4 * workers,
    optimizer: { momentum: 0.9, dampening: 0, nesterov: false, weightDecay: 0, form: 'pytorch' },
    workers,
    minWorkers: workers,
    evalEvery: 1e9,
    evalChunk: 10,
    checkpointEvery: 0,
    stepTimeoutMs: 600_000,
    balance: 'even',
  };
}

/** Milliseconds to copy `bytes` once (median of 5, after a copy that pages the buffers in), the floor for a coordinator that must touch every byte. */
export function memcpyMs(bytes: number): number {
  const src = Buffer.alloc(Math.max(1, bytes), 1);
  const dst = Buffer.alloc(src.length);
  src.copy(dst);
  const times = Array.from({ length: 5 }, () => {
    const t0 = performance.now();
    src.copy(dst);
    return performance.now() - t0;
  });
  return median(times);
}

/** The two lower bounds of one step's communication on a full-duplex link of `gbit`, in ms. */
export function linkBounds(workers: number, params: number, gbit: number): { flatMs: number; ringMs: number } {
  const bytesPerMs = (gbit * 1e9) / 8 / 1000;
  return {
    flatMs: (workers * params * 4) / bytesPerMs,
    ringMs: workers > 1 ? (((2 * (workers - 1)) / workers) * params * 4) / bytesPerMs : 0,
  };
}

/** How gradients and weights travel. */
export interface Wires {
  gradWire: GradWire;
  weightWire: WeightWire;
}

export async function measureScalePoint(
  o: Wires & {
    model: string;
    workers: number;
    connections?: number;
    /** The invariant reduction (groups of the batch): what sharded summation needs; relayed points use it either way. */
    groups?: boolean;
    steps: number;
    computeMs: number;
    host: string;
    advertise: string;
    linkGbit: number | null;
    spawner: WorkerSpawner;
    linkBytes?: LinkCounters | undefined;
  },
): Promise<ScalePoint> {
  const connections = o.connections ?? o.workers; // relays: H connections for N workers
  const config = {
    ...benchConfig(o.model, connections, o.steps, o),
    batchSize: 4 * o.workers,
    ...(o.groups ? { groupSize: 'auto' as const } : {}),
  };
  const { coord, port, run } = await openSoloRun({
    config,
    host: o.host,
    port: 0,
    token: undefined,
    out: mkdtempSync(join(tmpdir(), 'dtrain-scale-')),
    waitTimeoutMs: 300_000,
    data: { syntheticCacheDir: syntheticCacheDir() },
    log: () => undefined,
  });
  const kids = Array.from({ length: connections }, (_, i) => o.spawner(i, `ws://${o.advertise}:${port}`));
  const records: StepRecord[] = [];
  const warmup = Math.min(5, Math.floor(o.steps / 4));
  let cpu0: NodeJS.CpuUsage | null = null;
  const links: ReturnType<LinkCounters>[] = [];
  coord.on('step', (r) => {
    records.push(r);
    if ((r.step === warmup || r.step === o.steps) && o.linkBytes) links.push(o.linkBytes());
    if (r.step === warmup) cpu0 = process.cpuUsage();
  });
  await run();
  const cpu = process.cpuUsage(cpu0 ?? undefined);
  await allExited(kids, 10_000);
  for (const k of kids) if (k.exitCode === null) k.kill('SIGKILL');
  const warm = records.filter((r) => r.step > warmup);
  const p = scalePoint(o, warm, (cpu.user + cpu.system) / 1000);
  return links.length === 2 ? { ...p, linkBytesPerStep: perStep(links[0]!, links[1]!, warm.length) } : p;
}

/** A point from its warm steps' records and the coordinator's CPU milliseconds over them. */
function scalePoint(
  o: Wires & { model: string; workers: number; computeMs: number; linkGbit: number | null },
  warm: StepRecord[],
  cpuMs: number,
): ScalePoint {
  const m = (f: (r: StepRecord) => number) => Number(median(warm.map(f)).toFixed(3));
  const params = paramCount(buildManifest(getModelSpec(o.model)));
  const bytesIn = m((r) => r.bytesIn);
  const bytesOut = m((r) => r.bytesOut);
  const bounds = o.linkGbit ? linkBounds(o.workers, params, o.linkGbit) : null; // the ring bound is for N workers; the flat one for this design without relays
  return {
    model: o.model,
    params,
    workers: o.workers,
    steps: warm.length,
    meshSteps: warm.filter((r) => r.mesh).length,
    computeMs: o.computeMs,
    gradWire: o.gradWire,
    weightWire: o.weightWire,
    stepMs: m((r) => r.stepMs),
    coordCpuMsPerStep: Number((cpuMs / Math.max(1, warm.length)).toFixed(3)),
    coordMs: m((r) => r.coordMs),
    bytesInPerStep: bytesIn,
    bytesOutPerStep: bytesOut,
    memcpyMsPerStep: Number(memcpyMs(bytesIn + bytesOut).toFixed(3)),
    linkGbit: o.linkGbit,
    flatBoundMs: bounds ? Number(bounds.flatMs.toFixed(3)) : null,
    ringBoundMs: bounds ? Number(bounds.ringMs.toFixed(3)) : null,
  };
}

export const machine = (): Record<string, unknown> => ({
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
});

/** Workers in network-namespace hosts (round robin), reaching a coordinator in this process. */
export const netnsEchoWorkers =
  (net: NetHarness, computeMs: number): WorkerSpawner =>
  (i, url) =>
    net.dtrain(net.hosts[i % net.hosts.length]!, [
      'bench',
      'echo-worker',
      '--connect',
      url,
      '--compute-ms',
      String(computeMs),
    ]).child;

/** "1gbit" -> 1, "500mbit" -> 0.5 (the tc rate in Gbit/s). */
export function rateGbit(rate: string): number {
  const bits = rateBits(rate);
  if (bits === null)
    throw new TrainerError('ERR_BAD_CONFIG', `--rate ${rate} is not a tc rate`, {
      hint: 'e.g. --rate 1gbit or --rate 100mbit',
    });
  return bits / 1e9;
}

export interface ScaleArgs extends Wires {
  models: string[];
  workers: number[];
  steps: number;
  computeMs: number;
  netnsHosts: number;
  rate: string;
  maxBytesPerStep: number;
  relays?: boolean;
  /** With relays: sharded summation over them (false: each sends its whole sum). */
  mesh?: boolean;
}

const RELAY_PORT = 7199;

/**
 * With relays: in each namespace host a `dtrain relay --no-spawn` and its share of the N echo workers
 * behind it on loopback; the coordinator then waits for H relays, not N workers.
 */
export const relayedEchoWorkers = (
  net: NetHarness,
  workers: number,
  computeMs: number,
  mesh = true,
): { relays: number; spawner: WorkerSpawner } => {
  const hosts = net.hosts.slice(0, Math.min(net.hosts.length, workers));
  const behind = (h: number): number => Math.floor(workers / hosts.length) + (h < workers % hosts.length ? 1 : 0);
  return {
    relays: hosts.length,
    spawner: (h, url) => {
      const host = hosts[h]!;
      const relay = net.dtrain(host, [
        'relay',
        '--connect',
        url,
        '--local',
        String(behind(h)),
        '--no-spawn',
        '--listen-port',
        String(RELAY_PORT),
        ...(mesh ? [] : ['--no-mesh']),
      ]);
      for (let i = 0; i < behind(h); i++)
        net.dtrain(host, [
          'bench',
          'echo-worker',
          '--connect',
          `ws://127.0.0.1:${RELAY_PORT}`,
          '--compute-ms',
          String(computeMs),
        ]);
      return relay.child;
    },
  };
};

/** Every (model, N) point, printing each as it is measured; points over maxBytesPerStep are skipped and said so. */
export async function benchScale(a: ScaleArgs, print: (line: string) => void): Promise<ScalePoint[]> {
  const net =
    a.netnsHosts > 0
      ? new NetHarness(
          Array.from({ length: a.netnsHosts }, (_, i) => `w${i + 1}`),
          { rate: a.rate, rootHost: true },
        )
      : null;
  const points: ScalePoint[] = [];
  try {
    for (const model of a.models)
      for (const workers of a.workers) {
        const params = paramCount(buildManifest(getModelSpec(model)));
        if (2 * workers * params * 4 > a.maxBytesPerStep) {
          print(
            JSON.stringify({
              model,
              workers,
              skipped: `${((2 * workers * params * 4) / 1e9).toFixed(1)} GB per step is over --max-bytes-per-step`,
            }),
          );
          continue;
        }
        const relayed = net && a.relays ? relayedEchoWorkers(net, workers, a.computeMs, a.mesh ?? true) : null;
        const spawner = relayed?.spawner ?? (net ? netnsEchoWorkers(net, a.computeMs) : localEchoWorkers(a.computeMs));
        const host = net ? net.root!.ip : '127.0.0.1';
        const p = await measureScalePoint({
          model,
          workers,
          connections: relayed?.relays ?? workers,
          groups: !!relayed,
          steps: a.steps,
          computeMs: a.computeMs,
          gradWire: a.gradWire,
          weightWire: a.weightWire,
          host,
          advertise: host,
          linkGbit: net ? rateGbit(a.rate) : null,
          spawner,
          linkBytes: net ? () => net.linkBytes() : undefined,
        });
        points.push(p);
        print(
          JSON.stringify({
            ...p,
            where: net ? `${a.netnsHosts} namespace hosts, ${a.rate} links${relayed ? relayedHow(a) : ''}` : 'loopback',
          }),
        );
      }
  } finally {
    await net?.close();
  }
  return points;
}

/** How a relayed point sums: through a mesh of the hosts, or through the coordinator. */
function relayedHow(a: ScaleArgs): string {
  return a.mesh === false || a.netnsHosts < 2 ? ', relays' : ', relays, sharded summation';
}
