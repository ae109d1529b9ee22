// A protocol-complete stand-in worker for exchange benchmarks: answers every assignment at once with a
// fixed random gradient of the right size (no tfjs), so only the coordinator and the wire are measured.

import { paramCount, Rng, type Manifest } from '@dtrain/common';
import { CoordinatorLink } from '@dtrain/worker/link';

export async function runEchoWorker(url: string, token: string | undefined): Promise<void> {
  const link = await CoordinatorLink.open(url);
  const gradientOf = (manifest: Manifest): Float32Array => {
    const rng = new Rng(1);
    return Float32Array.from({ length: paramCount(manifest) }, () => rng.uniform(-1e-3, 1e-3));
  };
  let grad = gradientOf((await link.join({ token, name: 'echo' })).manifest);
  for (let m = await link.next(); m && m.kind !== 'shutdown'; m = await link.next()) {
    if (m.kind === 'welcome') { // the next run of an experiment
      grad = gradientOf(m.manifest);
      link.send({ kind: 'ready', modelFingerprint: m.modelFingerprint, datasetFingerprint: m.datasetFingerprint });
    } else if (m.kind === 'assign') {
      const count = m.indices.length;
      link.send({ kind: 'gradient', step: m.step, version: m.version, shardId: m.shardId, count, lossSum: count, correct: 0, computeMs: 0, grad });
    } else if (m.kind === 'evaluate') {
      const count = m.indices.length;
      link.send({ kind: 'evalResult', evalId: m.evalId, shardId: m.shardId, count, lossSum: count, correct: 0, computeMs: 0 });
    }
  }
  link.close();
}
