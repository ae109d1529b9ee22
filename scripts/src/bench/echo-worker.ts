// A protocol-complete stand-in worker for exchange and scale benchmarks: answers every assignment (at
// once, or after a simulated compute time) with a fixed random gradient of the right size (no tfjs), so
// only the coordinator and the wire are measured (and, under --weight-wire, the decode every worker runs).

import { type AssignMsg, encodeGradient, type Manifest, paramCount, Rng, receiveWeights } from '@dtrain/common';
import { CoordinatorLink } from '@dtrain/worker/link';
import { runWires } from '@dtrain/worker/quantize';

/** The fixed gradient an echo worker sends: small uniform values, one per parameter. */
function gradientOf(manifest: Manifest): Float32Array {
  const rng = new Rng(1);
  return Float32Array.from({ length: paramCount(manifest) }, () => rng.uniform(-1e-3, 1e-3));
}

/**
 * Like a real worker, a gradient goes out only once the weights it is for have arrived, then (with
 * `computeMs`) that much later: a simulated compute time.
 */
export async function runEchoWorker(url: string, token: string | undefined, computeMs = 0): Promise<void> {
  const link = await openWithRetry(url, 30_000);
  const welcome = await link.join({ token, name: 'echo' });
  let grad = gradientOf(welcome.manifest);
  let { compressor, held: view } = runWires(welcome); // weight deltas are applied, as a worker does
  let held = -1;
  let waiting: AssignMsg[] = [];
  const answer = (m: AssignMsg): void => {
    const count = m.indices.length;
    const fields = {
      kind: 'gradient' as const,
      step: m.step,
      version: m.version,
      shardId: m.shardId,
      count,
      lossSum: count,
      correct: 0,
      computeMs,
    };
    const send = (): void => link.sendFrame(encodeGradient(fields, compressor.compress(grad)));
    if (computeMs > 0) setTimeout(send, computeMs);
    else send();
  };
  for (let m = await link.next(); m && m.kind !== 'shutdown'; m = await link.next()) {
    if (m.kind === 'welcome') {
      // the next run of an experiment
      grad = gradientOf(m.manifest);
      ({ compressor, held: view } = runWires(m));
      held = -1;
      link.send({ kind: 'ready', modelFingerprint: m.modelFingerprint, datasetFingerprint: m.datasetFingerprint });
    } else if (m.kind === 'weights' || m.kind === 'weightsDelta') {
      receiveWeights(view, m);
      held = m.version;
      const due = waiting.filter((a) => a.version <= held);
      waiting = waiting.filter((a) => a.version > held);
      due.forEach(answer);
    } else if (m.kind === 'assign') {
      if (m.version <= held) answer(m);
      else waiting.push(m);
    } else if (m.kind === 'evaluate') {
      const count = m.indices.length;
      link.send({
        kind: 'evalResult',
        evalId: m.evalId,
        shardId: m.shardId,
        count,
        lossSum: count,
        correct: 0,
        computeMs: 0,
      });
    }
  }
  link.close();
}

/** Dial until the coordinator (or relay) listens, for up to `ms`. */
async function openWithRetry(url: string, ms: number): Promise<CoordinatorLink> {
  const t0 = Date.now();
  for (;;) {
    try {
      return await CoordinatorLink.open(url);
    } catch (e) {
      if (Date.now() - t0 > ms) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
