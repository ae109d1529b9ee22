// Hostile frames for the fuzz suite, from a seeded generator: random bytes, text, oversized frames,
// mutated and truncated valid frames, non-finite tensors, prototype keys, deep nesting, lying tensor
// prefixes, multi-byte strings past the close-reason limit. Never an intact valid frame.

import {
  buildManifest,
  type CoordinatorMsg,
  encode,
  encodeUnchecked,
  getModelSpec,
  modelFingerprint,
  PROTOCOL_VERSION,
  Rng,
  type WelcomeMsg,
  type WorkerMsg,
} from '@dtrain/common';

export type Frame = Uint8Array | string;

function bytes(rng: Rng, n: number): Uint8Array {
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

/** `frame` with 1-4 bytes changed, or cut short, or with junk appended: never the same bytes. */
export function mutate(rng: Rng, frame: Uint8Array): Uint8Array {
  const out = Uint8Array.from(frame);
  switch (rng.int(3)) {
    case 0:
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) {
        const at = rng.int(out.length);
        out[at] = (out[at]! + 1 + rng.int(255)) & 0xff; // always a different byte
      }
      return out;
    case 1:
      return out.subarray(0, rng.int(out.length)); // strictly shorter
    default: {
      const junk = bytes(rng, 1 + rng.int(16));
      const longer = new Uint8Array(out.length + junk.length);
      longer.set(out);
      longer.set(junk, out.length);
      return longer;
    }
  }
}

/** `depth` one-element msgpack arrays (0x91) around the integer 1. */
function deepFrame(depth: number): Uint8Array {
  const f = new Uint8Array(depth + 1).fill(0x91);
  f[depth] = 0x01;
  return f;
}

/** Frames a worker could send, shaped like the protocol's but each wrong somewhere. */
export function workerTemplates(paramCount: number): Uint8Array[] {
  const grad = new Float32Array(paramCount).fill(0.5);
  const msgs: WorkerMsg[] = [
    {
      kind: 'hello',
      protocol: PROTOCOL_VERSION,
      mac: 'ab'.repeat(32),
      nonce: 'cd'.repeat(24),
      name: 'fz',
      host: 'h',
      pid: 1,
      backend: 'wasm',
      backendReason: 'fuzz',
    },
    { kind: 'gradient', step: 1, version: 0, shardId: 0, count: 4, lossSum: 1, correct: 1, computeMs: 1, grad },
    { kind: 'evalResult', evalId: 1, shardId: 0, count: 4, lossSum: 1, correct: 1, computeMs: 1 },
  ];
  return msgs.map((m) => encode(m));
}

/**
 * Frames a coordinator could send, shaped like the protocol's. Not `reject`, `shutdown` or `challenge`: a
 * mutation of those can stay valid, and a valid one (or a demand for a token the worker lacks) ends a worker
 * by design.
 */
export function coordinatorTemplates(paramCount: number): Uint8Array[] {
  const msgs: CoordinatorMsg[] = [
    { kind: 'weights', version: 0, data: new Float32Array(paramCount).fill(0.25) },
    { kind: 'assign', step: 1, version: 0, epoch: 0, shardId: 0, indices: Uint32Array.from([1, 2, 3]) },
    { kind: 'evaluate', evalId: 1, split: 'test', shardId: 0, indices: Uint32Array.from([1, 2]) },
  ];
  return msgs.map((m) => encode(m));
}

/** A valid welcome to a run of the tiny CNN on 64 generated images (what a fake coordinator offers before its hostile frames). */
export function tinyWelcome(): WelcomeMsg {
  const spec = getModelSpec('tiny-cnn');
  return {
    kind: 'welcome',
    workerId: 1,
    runId: 'r',
    model: 'tiny-cnn',
    modelFingerprint: modelFingerprint(spec),
    manifest: buildManifest(spec),
    dataset: {
      name: 'synthetic',
      trainSize: 64,
      testSize: 8,
      seed: 1,
      valFraction: 0,
      normalize: false,
      augment: false,
    },
    datasetFingerprint: 'x',
    maxShard: 256,
  };
}

/** One hostile frame of a random kind; `templates` are the valid frames it mutates. */
export function hostileFrame(rng: Rng, templates: readonly Uint8Array[], oversize: number): Frame {
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)]!;
  switch (rng.int(10)) {
    case 0:
      return bytes(rng, rng.int(300));
    case 1:
      return 'x'.repeat(rng.int(200)) + '€'.repeat(rng.int(60));
    case 2:
      return new Uint8Array(oversize + rng.int(1024));
    case 3:
      return encodeUnchecked({ kind: pick(['€', '😀', '\u{10ffff}', '\ud800']).repeat(20 + rng.int(200)) });
    case 4:
      return encodeUnchecked({
        kind: 'gradient',
        step: 1,
        version: 0,
        shardId: 0,
        count: 4,
        lossSum: 1,
        correct: 1,
        computeMs: 1,
        grad: Float32Array.from([Number.NaN, Infinity, -Infinity, 1]),
      });
    case 5:
      return encodeUnchecked(
        JSON.parse(
          '{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}, "kind": "hello"}',
        ) as object,
      );
    case 6:
      return deepFrame(1000 + rng.int(60_000)); // msgpack arrays nested past any stack
    case 7: {
      // a tensor prefix that declares far more elements than it carries
      const f = Uint8Array.from(pick(templates));
      if (f[0] === 0xc1 && f.length >= 8) new DataView(f.buffer).setUint32(4, 0xffffffff - rng.int(100), true);
      else f[0] = 0xc1;
      return f;
    }
    default:
      return mutate(rng, pick(templates));
  }
}
