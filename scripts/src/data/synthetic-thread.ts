// The embedded dataset generated off the event loop: a worker that is welcomed to a run on generated
// images builds them in a worker thread (into the on-disk cache) and then reads them from there, so its
// heartbeats and its coordinator's pings are answered all along (100,000 images take about 30 s).

import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { DatasetSpec } from '@dtrain/common';
import { buildDataset } from '@dtrain/common/files';

interface Job {
  warmSynthetic: { spec: DatasetSpec; dir: string };
}

/** Generate `spec`'s images into the cache in `dir` on another thread; resolves once they are there. */
export function warmSyntheticCache(spec: DatasetSpec, dir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const job: Job = { warmSynthetic: { spec, dir } };
    const thread = new Worker(new URL(import.meta.url), { workerData: job });
    thread.once('error', reject);
    thread.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the data thread exited with ${code}`))));
  });
}

if (!isMainThread && (workerData as Partial<Job> | null)?.warmSynthetic) {
  const { spec, dir } = (workerData as Job).warmSynthetic;
  buildDataset(spec, { syntheticCacheDir: dir });
  parentPort?.close();
}
