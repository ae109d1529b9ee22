// `dtrain doctor`: what a person needs to debug a setup: Node and tfjs versions, which backends load and
// why not, CUDA visibility for the GPU package, CPU count, worker scheduling, and a 2-second speed probe.

import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { applySchedPolicy, benchCompute, selectBackend, tfjsVersions, tryNative } from '@dtrain/worker';

function nvidiaSmi(): string {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total,driver_version', '--format=csv,noheader'], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    return 'nvidia-smi not found or failed (no NVIDIA driver visible)';
  }
}

export async function runDoctor(write: (line: string) => void): Promise<void> {
  write(`node ${process.version} on ${process.platform}-${process.arch}; ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB`);
  for (const [p, v] of Object.entries(tfjsVersions())) write(`${p}: ${v}`);
  for (const p of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
    write(`native ${p}: ${tryNative(p) ?? 'loads'}`);
  }
  write(`CUDA_VISIBLE_DEVICES=${process.env['CUDA_VISIBLE_DEVICES'] ?? '(unset: all GPUs visible)'}`);
  write(`GPUs: ${nvidiaSmi()}`);
  write('@tensorflow/tfjs-node-gpu 4.22 needs Linux x86-64 with CUDA 11.2 and cuDNN 8.1; one worker process per GPU (--gpu K)');
  // What a worker does at start (harmless here: doctor is a throughput job too).
  write(`worker scheduling (--sched batch): ${applySchedPolicy('batch').reason}`);
  const backend = await selectBackend('auto');
  write(`auto backend: ${backend.name} (${backend.reason})`);
  const probe = await benchCompute(backend, 'reference-cnn', 64, 1);
  const iterations = Math.max(1, Math.min(50, Math.floor(2000 / probe.msPerBatch)));
  const r = iterations > 1 ? await benchCompute(backend, 'reference-cnn', 64, iterations) : probe;
  write(`speed probe (reference-cnn, batch 64, forward+backward, ${r.iterations} iterations): ${r.imagesPerSecond} images/s, ${r.gflopsPerSecond} GFLOP/s`);
}
