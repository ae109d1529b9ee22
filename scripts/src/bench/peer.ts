// `dtrain bench peer`: dtrain next to the PyTorch peer (../shared/peers, Debian's python3-torch), run
// interleaved in one window, the order alternating every repetition: one core's forward+backward at
// batch 64 (`bench compute` vs the peer's --mode fwdbwd, 1 thread), and 2 workers over 1 at 64 per worker
// (`bench scaling` vs DDP gloo 2 x 1 thread over 1 x 1 thread). Prints the ratios as the headline, with
// the absolute numbers, the machine, Node and its V8 flags.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { forwardFlops, getModelSpec, median, TrainerError } from '@dtrain/common';
import { CLI_PATH as CLI } from '../processes/path.js';

export interface PeerArgs {
  peerDir: string;
  python: string;
  reps: number;
  steps: number;
  backend: string;
  /** The zoo's model on both sides: reference-cnn (the peer's "cnn") or a CIFAR ResNet. */
  model: string;
}

/** The peer's name for a zoo model, or null where it has none. */
export function peerModel(model: string): string | null {
  if (model === 'reference-cnn') return 'cnn';
  return ['resnet8', 'resnet20', 'resnet56'].includes(model) ? model : null;
}

/** The last JSON line a command printed. */
function jsonOf(cmd: string, args: string[], cwd?: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (code !== 0 || !line) return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-400)}`));
      resolve(JSON.parse(line) as Record<string, unknown>);
    });
  });
}

/** Why the peer cannot run here, or null. */
export async function peerUnavailable(a: Pick<PeerArgs, 'peerDir' | 'python'>): Promise<string | null> {
  if (!existsSync(join(a.peerDir, 'torch_ddp_cifar_cnn.py'))) return `no PyTorch peer in ${a.peerDir}`;
  try {
    await new Promise<void>((resolve, reject) =>
      spawn(a.python, ['-c', 'import torch'], { stdio: 'ignore' })
        .once('exit', (c) => (c === 0 ? resolve() : reject(new Error())))
        .once('error', reject),
    );
    return null;
  } catch {
    return `${a.python} cannot import torch (apt-get install python3-torch; use /usr/bin/python3, not a pyenv shim)`;
  }
}

const num = (r: Record<string, unknown>, k: string): number => Number(r[k]);

/** The PyTorch peer's JSON line for `procs` DDP processes (one thread each) at a global batch. */
function torch(a: PeerArgs, procs: number, batch: number, mode: string[]) {
  const args = `--procs ${procs} --threads-per-proc 1 --total-threads ${procs} --global-batch ${batch}`;
  const script = join(a.peerDir, 'torch_ddp_cifar_cnn.py');
  const model = ['--model', peerModel(a.model) ?? 'cnn'];
  return jsonOf(a.python, [script, ...args.split(' '), '--steps', String(a.steps), '--warmup', '5', ...model, ...mode]);
}

/** dtrain's own bench command's JSON line (`bench compute`, `bench scaling`) at batch 64 per worker. */
function dtrain(a: PeerArgs, bench: string, extra = '') {
  const args = `bench ${bench} --backend ${a.backend} --model ${a.model} --batch-size 64 --steps ${a.steps} ${extra}`;
  return jsonOf(process.execPath, [CLI, ...args.trim().split(' ')]);
}

/** One repetition; `kernels` collects which build of dtrain's wasm kernels ran. */
async function oneRep(a: PeerArgs, rep: number, kernels: Set<string>): Promise<Record<string, number>> {
  const runs: [string, () => Promise<number>][] = [
    [
      'dtrainCompute',
      async () => {
        const r = await dtrain(a, 'compute');
        kernels.add(String(r['kernels'] ?? r['backend']));
        return num(r, 'imagesPerSecond');
      },
    ],
    ['torchCompute', async () => num(await torch(a, 1, 64, ['--mode', 'fwdbwd']), 'images_per_s')],
    [
      'dtrainScaling',
      async () => {
        const r = await dtrain(a, 'scaling', '--repeats 1 --no-compute-only');
        scaling = { one: num(r, 'oneImagesPerSecond'), two: num(r, 'twoImagesPerSecond') };
        return num(r, 'ratio');
      },
    ],
    [
      'torchScaling',
      async () => {
        ddp = {
          one: num(await torch(a, 1, 64, []), 'images_per_s'),
          two: num(await torch(a, 2, 128, []), 'images_per_s'),
        };
        return ddp.two / ddp.one;
      },
    ],
  ];
  let scaling = { one: 0, two: 0 };
  let ddp = { one: 0, two: 0 };
  const out: Record<string, number> = {};
  for (const [name, run] of rep % 2 === 0 ? runs : [...runs].reverse()) out[name] = await run();
  return { ...out, dtrainOne: scaling.one, dtrainTwo: scaling.two, ddpOne: ddp.one, ddpTwo: ddp.two };
}

/** The clock the OS reports (os.cpus(), else /proc/cpuinfo's "cpu MHz" where the former says 0); 0 if unknown. */
export function cpuMhz(cpuinfo = '/proc/cpuinfo', speed = cpus()[0]?.speed ?? 0): number {
  if (speed > 0) return speed;
  try {
    const m = /^cpu MHz\s*:\s*([\d.]+)/m.exec(readFileSync(cpuinfo, 'utf8'));
    return m ? Math.round(Number(m[1])) : 0;
  } catch {
    return 0;
  }
}

/** wasm SIMD128 with fused multiply-add: 4 lanes x 2 flop x 2 pipes a cycle per core. */
export const WASM_SIMD_FLOP_PER_CYCLE = 16;

/**
 * Training throughput as GFLOP/s (3x the forward FLOPs per image) and as a fraction of the wasm SIMD
 * ceiling at the clock the OS reports (nominal: a boosting core has more, so the fraction is an upper bound).
 */
export function simdCeiling(model: string, dtrainImagesPerSecond: number, torchImagesPerSecond: number) {
  const flopPerImage = 3 * forwardFlops(getModelSpec(model));
  const mhz = cpuMhz();
  const ceilingGflops = (WASM_SIMD_FLOP_PER_CYCLE * mhz) / 1000;
  const gflops = (ips: number) => Number(((ips * flopPerImage) / 1e9).toFixed(2));
  return {
    flopPerImage,
    mhz,
    wasmSimdGflops: Number(ceilingGflops.toFixed(1)),
    dtrainGflops: gflops(dtrainImagesPerSecond),
    torchGflops: gflops(torchImagesPerSecond),
    dtrainFractionOfCeiling: mhz > 0 ? Number((gflops(dtrainImagesPerSecond) / ceilingGflops).toFixed(3)) : null,
  };
}

export async function benchPeer(a: PeerArgs, progress: (line: string) => void): Promise<Record<string, unknown>> {
  const why = peerModel(a.model) === null ? `the peer has no ${a.model}` : await peerUnavailable(a);
  if (why)
    throw new TrainerError('ERR_BAD_CONFIG', `the PyTorch peer cannot run: ${why}`, {
      hint: 'see ../shared/peers/README.md',
    });
  const reps: Record<string, number>[] = [];
  const kernels = new Set<string>();
  for (let i = 0; i < a.reps; i++) {
    reps.push(await oneRep(a, i, kernels));
    progress(JSON.stringify({ rep: i + 1, ...reps[i] }));
  }
  const m = (k: string): number => Number(median(reps.map((r) => r[k]!)).toFixed(3));
  return {
    bench: 'peer',
    computeRatio: Number((m('dtrainCompute') / m('torchCompute')).toFixed(3)),
    scalingRatioOfRatios: Number((m('dtrainScaling') / m('torchScaling')).toFixed(3)),
    twoWorkerVsDdp: Number((m('dtrainTwo') / m('ddpTwo')).toFixed(3)),
    medians: {
      dtrainComputeImagesPerSecond: m('dtrainCompute'),
      torchComputeImagesPerSecond: m('torchCompute'),
      dtrainScaling: m('dtrainScaling'),
      ddpScaling: m('torchScaling'),
      dtrainTwoImagesPerSecond: m('dtrainTwo'),
      ddpTwoImagesPerSecond: m('ddpTwo'),
    },
    ceiling: simdCeiling(a.model, m('dtrainCompute'), m('torchCompute')),
    model: a.model,
    reps: a.reps,
    steps: a.steps,
    backend: a.backend,
    kernels: [...kernels].join(','),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    node: process.version,
    v8Flags: [...process.execArgv, ...(process.env['NODE_OPTIONS'] ? [process.env['NODE_OPTIONS']] : [])],
  };
}
