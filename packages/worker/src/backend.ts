// Compute backend selection (DESIGN.md "Compute backends"): `auto` tries the native TensorFlow binding
// from @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node, then wasm, then cpu, and says why each
// earlier choice was not used. Fast replacement gradients are installed only off the native backend.

import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
// tfjs-core's node bundle registers no gradient configs; the union package does (and shares the registry).
import '@tensorflow/tfjs';
import { TrainerError } from '@dtrain/common';
import * as tf from '@tensorflow/tfjs-core';
import { installConvGradient } from './conv.js';
import { installFastGradients } from './gradients.js';
import type { KernelBuild } from './kernel-module.js';
import { installWasmKernels } from './wasm-kernels.js';

/** `wasm` runs dtrain's kernels with fused multiply-adds where the engine can (kernel-module.ts), `wasm-simd` never. */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'wasm-simd' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'wasm-simd', 'cpu'];

export interface BackendInfo {
  /** tfjs backend name in use: tensorflow, wasm or cpu. */
  name: string;
  /** Package that provided it. */
  provider: string;
  /** Why this backend, and why not the ones before it. */
  reason: string;
  /** On wasm: which build of dtrain's kernels runs. */
  kernels?: KernelBuild;
}

const require = createRequire(import.meta.url);

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e)
    .split('\n')[0]!
    .slice(0, 300);
}

/** Try to load one native package; returns null on success or the reason it failed. */
export function tryNative(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): string | null {
  let root: string;
  try {
    root = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return `${pkg} is not installed`;
  }
  // Check for the binding before require(): a failed load leaves half-registered kernels behind.
  const lib = join(root, 'lib');
  const hasBinding = existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
  if (!hasBinding) {
    return `${pkg}: no native binding (its install step could not download libtensorflow)`;
  }
  try {
    require(pkg);
    return null;
  } catch (e) {
    const msg = firstLine(e);
    if (/Cannot find module '@tensorflow\/tfjs-node/.test(msg)) return `${pkg} is not installed`;
    return `${pkg} did not load (${msg}); its native binding is usually missing because its install step could not download libtensorflow`;
  }
}

async function useBackend(name: 'tensorflow' | 'wasm' | 'cpu'): Promise<void> {
  if (name === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  const ok = await tf.setBackend(name);
  if (!ok) throw new TrainerError('ERR_BACKEND', `tfjs backend "${name}" failed to initialise`);
  await tf.ready();
}

/** Select and initialise the backend; throws ERR_BACKEND when an explicit choice is unavailable. */
export async function selectBackend(choice: BackendChoice): Promise<BackendInfo> {
  const notes: string[] = [];
  if (choice === 'auto' || choice === 'tensorflow') {
    for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
      const why = tryNative(pkg);
      if (why === null) {
        await useBackend('tensorflow');
        return { name: 'tensorflow', provider: pkg, reason: [...notes, `${pkg} loaded`].join('; ') };
      }
      notes.push(why);
    }
    if (choice === 'tensorflow') {
      throw new TrainerError('ERR_BACKEND', `the native TensorFlow backend is unavailable: ${notes.join('; ')}`, {
        hint: 'on a machine with internet, reinstall (pnpm install) so @tensorflow/tfjs-node-gpu can fetch libtensorflow; or use --backend wasm',
      });
    }
  }
  if (choice === 'auto' || choice === 'wasm' || choice === 'wasm-simd') {
    try {
      await useBackend('wasm');
      const build = installWasmKernels(choice === 'wasm-simd' ? 'simd' : 'auto');
      installConvGradient();
      installFastGradients();
      const kernels = build === 'fma' ? 'SIMD kernels with fused multiply-add (relaxed SIMD)' : 'SIMD kernels';
      return {
        name: 'wasm',
        provider: '@tensorflow/tfjs-backend-wasm',
        reason: [...notes, `using wasm (XNNPACK) with dtrain ${kernels} and gradients`].join('; '),
        kernels: build,
      };
    } catch (e) {
      if (choice !== 'auto')
        throw new TrainerError('ERR_BACKEND', `wasm backend failed: ${firstLine(e)}`, { hint: 'use --backend cpu' });
      notes.push(`wasm failed (${firstLine(e)})`);
    }
  }
  await useBackend('cpu');
  installFastGradients();
  return {
    name: 'cpu',
    provider: '@tensorflow/tfjs-backend-cpu',
    reason: [...notes, 'using the pure-JS cpu backend with dtrain gradients'].join('; '),
  };
}

/** Installed versions of the tfjs packages, as this package resolves them. */
export function tfjsVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
  ]) {
    try {
      out[p] = (require(`${p}/package.json`) as { version: string }).version;
    } catch {
      out[p] = 'not installed';
    }
  }
  return out;
}
