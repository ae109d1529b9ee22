// What this machine gives two processes over one with no trainer at all: `bench compute` alone, then two
// `bench compute` processes at once (each computes back to back, nothing exchanged). `bench scaling`
// prints it next to the trainer's ratio, so a scaling loss can be told apart as the machine's (cores
// that slow each other down) or the trainer's (communication, coordinator). It is not a strict bound:
// workers in a synchronous step also wait, so they contend less than two processes that never pause.

import { spawn } from 'node:child_process';
import { CLI_PATH as CLI } from '../processes/path.js';

export interface ComputeOnly {
  aloneMs: number;
  pairMs: [number, number];
  /** 2 x aloneMs / the slower of the pair (a synchronous step waits for the slower worker). */
  ratio: number;
}

export function computeOnlyRatio(aloneMs: number, pairMs: [number, number]): ComputeOnly {
  if (!(aloneMs > 0) || !pairMs.every((m) => m > 0))
    throw new Error(`compute times must be positive: ${aloneMs}, ${pairMs.join(', ')}`);
  return { aloneMs, pairMs, ratio: Number(((2 * aloneMs) / Math.max(...pairMs)).toFixed(3)) };
}

/** ms per batch of one `dtrain bench compute` child process. */
function computeMs(model: string, backend: string, batchSize: number, steps: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [
      CLI,
      'bench',
      'compute',
      '--model',
      model,
      '--backend',
      backend,
      '--batch-size',
      String(batchSize),
      '--steps',
      String(steps),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`bench compute exited with ${code}`);
        const ms = (JSON.parse(out) as { msPerBatch?: unknown }).msPerBatch;
        if (typeof ms !== 'number') throw new Error(`bench compute printed no msPerBatch: ${out.slice(0, 200)}`);
        resolve(ms);
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

export async function measureComputeOnly(
  model: string,
  backend: string,
  batchSize: number,
  steps: number,
): Promise<ComputeOnly> {
  const alone = await computeMs(model, backend, batchSize, steps);
  const [a, b] = await Promise.all([
    computeMs(model, backend, batchSize, steps),
    computeMs(model, backend, batchSize, steps),
  ]);
  return computeOnlyRatio(alone, [a, b]);
}
