// The machine's own 1 -> 2 process scaling, with no trainer in it: `bench compute` alone, then two
// `bench compute` processes at once. A synchronous step waits for the slower worker, so 2 x alone /
// slower-of-the-pair bounds what 2 workers can reach over 1 on this machine; `bench scaling` prints its
// ratio next to this ceiling. (On the 2-vCPU VM of bench/RESULTS.md the ceiling itself ranged 1.55-1.82.)

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));

export interface Ceiling {
  aloneMs: number;
  pairMs: [number, number];
  /** 2 x aloneMs / the slower of the pair. */
  ceiling: number;
}

export function ceilingOf(aloneMs: number, pairMs: [number, number]): Ceiling {
  if (!(aloneMs > 0) || !pairMs.every((m) => m > 0)) throw new Error(`compute times must be positive: ${aloneMs}, ${pairMs.join(', ')}`);
  return { aloneMs, pairMs, ceiling: Number(((2 * aloneMs) / Math.max(...pairMs)).toFixed(3)) };
}

/** ms per batch of one `dtrain bench compute` child process. */
function computeMs(model: string, backend: string, batchSize: number, steps: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const args = [CLI, 'bench', 'compute', '--model', model, '--backend', backend, '--batch-size', String(batchSize), '--steps', String(steps)];
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

export async function measureCeiling(model: string, backend: string, batchSize: number, steps: number): Promise<Ceiling> {
  const alone = await computeMs(model, backend, batchSize, steps);
  const [a, b] = await Promise.all([computeMs(model, backend, batchSize, steps), computeMs(model, backend, batchSize, steps)]);
  return ceilingOf(alone, [a, b]);
}
