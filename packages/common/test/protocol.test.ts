import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decode,
  encode,
  encodeUnchecked,
  MAX_BATCH_SIZE,
  MAX_NOTE_CHARS,
  MAX_SYNTHETIC_IMAGES,
  type ParseContext,
  parseCoordinatorMsg,
  parseWorkerMsg,
  TrainerError,
} from '@dtrain/common';

const ctx: ParseContext = { paramCount: 5, trainSize: 100, evalSize: 20 };
const grad = (o: object = {}) => ({
  kind: 'gradient' as const,
  step: 1,
  version: 0,
  shardId: 0,
  count: 4,
  lossSum: 9.2,
  correct: 2,
  computeMs: 3,
  grad: new Float32Array([1, 2, 3, 4, 5]),
  ...o,
});
const code = (c: string) => (e: unknown) => e instanceof TrainerError && e.code === c;

test('gradient and weights frames round-trip through the codec as aligned typed arrays', () => {
  const g = parseWorkerMsg(decode(encodeUnchecked(grad()), 1 << 20), ctx);
  assert.equal(g.kind, 'gradient');
  if (g.kind !== 'gradient') return;
  assert.ok(g.grad instanceof Float32Array);
  assert.equal(g.grad.byteOffset % 4, 0);
  assert.deepEqual([...g.grad], [1, 2, 3, 4, 5]);
  const a = parseCoordinatorMsg(
    decode(
      encode({ kind: 'assign', step: 2, version: 1, epoch: 0, shardId: 1, indices: new Uint32Array([5, 7, 99]) }),
      1 << 20,
    ),
    ctx,
  );
  assert.deepEqual(a.kind === 'assign' && [...a.indices], [5, 7, 99]);
  const flush = {
    kind: 'assign',
    step: 2,
    version: 1,
    epoch: 0,
    shardId: 1,
    indices: new Uint32Array([5]),
    flush: true,
  };
  assert.equal((parseCoordinatorMsg(flush, ctx) as { flush?: boolean }).flush, true);
  assert.throws(() => parseCoordinatorMsg({ ...flush, flush: 'yes' }, ctx), /"flush"/);
});

test("a relay's note is text of at most MAX_NOTE_CHARS characters", () => {
  assert.deepEqual(parseWorkerMsg({ kind: 'note', text: 'worker w3 left' }, ctx), {
    kind: 'note',
    text: 'worker w3 left',
  });
  assert.throws(() => parseWorkerMsg({ kind: 'note', text: 'x'.repeat(MAX_NOTE_CHARS + 1) }, ctx), /"text"/);
  assert.throws(() => parseWorkerMsg({ kind: 'note', text: 7 }, ctx), /"text" must be a string/);
});

test('malformed frames are refused with a reason', () => {
  assert.throws(() => decode(encodeUnchecked(grad()).subarray(0, 30), 1 << 20), code('ERR_BAD_FRAME'));
  assert.throws(() => parseWorkerMsg(42, ctx), code('ERR_BAD_FRAME'));
  assert.throws(() => parseWorkerMsg({ kind: 'launchMissiles' }, ctx), code('ERR_UNKNOWN_KIND'));
  assert.throws(() => parseWorkerMsg(grad({ step: -1 }), ctx), code('ERR_BAD_FRAME'));
  assert.throws(() => parseWorkerMsg(grad({ step: 1.5 }), ctx), code('ERR_BAD_FRAME'));
  assert.throws(() => parseWorkerMsg(grad({ grad: [1, 2, 3, 4, 5] }), ctx), code('ERR_BAD_FRAME'));
  assert.throws(() => parseWorkerMsg({ kind: 'hello', protocol: 1 }, ctx), /"mac" must be a string/);
  assert.throws(
    () =>
      parseCoordinatorMsg(
        { kind: 'assign', step: 1, version: 0, epoch: 0, shardId: 0, indices: new Uint32Array([100]) },
        ctx,
      ),
    /outside the dataset/,
  );
});

test('hello.slots: the workers behind a connection, 1..MAX_WORKERS, absent for a plain worker', () => {
  const hello = (o: object) => ({
    kind: 'hello',
    protocol: 7,
    mac: '',
    nonce: 'n',
    name: 'r',
    host: 'h',
    pid: 1,
    backend: 'relay',
    backendReason: 'x',
    ...o,
  });
  assert.equal((parseWorkerMsg(hello({}), ctx) as { slots?: number }).slots, undefined);
  assert.equal((parseWorkerMsg(hello({ slots: 8 }), ctx) as { slots?: number }).slots, 8);
  assert.throws(() => parseWorkerMsg(hello({ slots: 0 }), ctx), code('ERR_BAD_FRAME'));
  assert.throws(() => parseWorkerMsg(hello({ slots: 257 }), ctx), code('ERR_BAD_FRAME'));
  assert.throws(() => parseWorkerMsg(hello({ slots: 2.5 }), ctx), code('ERR_BAD_FRAME'));
});

test('oversized frames are refused', () => {
  const bytes = encodeUnchecked(grad());
  assert.throws(() => decode(bytes, bytes.length - 1), code('ERR_FRAME_TOO_LARGE'));
});

test('wrong-shape gradients are refused', () => {
  assert.throws(() => parseWorkerMsg(grad({ grad: new Float32Array(4) }), ctx), code('ERR_SHAPE_MISMATCH'));
  assert.throws(
    () => parseCoordinatorMsg({ kind: 'weights', version: 1, data: new Float32Array(6) }, ctx),
    code('ERR_SHAPE_MISMATCH'),
  );
});

test('non-finite numbers are refused', () => {
  assert.throws(() => parseWorkerMsg(grad({ grad: new Float32Array([1, NaN, 3, 4, 5]) }), ctx), code('ERR_NON_FINITE'));
  assert.throws(
    () => parseWorkerMsg(grad({ grad: new Float32Array([1, 2, Infinity, 4, 5]) }), ctx),
    code('ERR_NON_FINITE'),
  );
  assert.throws(() => parseWorkerMsg(grad({ lossSum: NaN }), ctx), code('ERR_NON_FINITE'));
  assert.throws(
    () => parseCoordinatorMsg({ kind: 'weights', version: 1, data: new Float32Array([0, 0, -Infinity, 0, 0]) }, ctx),
    code('ERR_NON_FINITE'),
  );
});

test(
  'a coordinator cannot make a worker hold more than the run declared: assignments past ' +
    "the welcome's maxShard, and generated datasets past MAX_SYNTHETIC_IMAGES, are refused",
  () => {
    const assign = (n: number) =>
      encode({ kind: 'assign', step: 1, version: 0, epoch: 0, shardId: 0, indices: new Uint32Array(n) });
    const told = { ...ctx, maxShard: 32 };
    assert.equal(
      (parseCoordinatorMsg(decode(assign(32), 1 << 20), told) as { indices: Uint32Array }).indices.length,
      32,
    );
    assert.throws(
      () => parseCoordinatorMsg(decode(assign(33), 1 << 20), told),
      (e: unknown) => code('ERR_BAD_FRAME')(e) && /33 entries \(at most 32 here/.test((e as Error).message),
    );
    const welcome = (o: object) =>
      encodeUnchecked({
        kind: 'welcome',
        workerId: 1,
        runId: 'r',
        model: 'tiny-cnn',
        modelFingerprint: 'm',
        manifest: [{ name: 'w', shape: [5], offset: 0, length: 5 }],
        dataset: {
          name: 'synthetic',
          trainSize: 64,
          testSize: 8,
          seed: 1,
          valFraction: 0,
          normalize: false,
          augment: false,
        },
        datasetFingerprint: 'd',
        maxShard: 64,
        ...o,
      });
    assert.equal((parseCoordinatorMsg(decode(welcome({}), 1 << 20), ctx) as { maxShard: number }).maxShard, 64);
    assert.throws(
      () => parseCoordinatorMsg(decode(welcome({ maxShard: MAX_BATCH_SIZE + 1 }), 1 << 20), ctx),
      code('ERR_BAD_FRAME'),
    );
    const huge = {
      name: 'synthetic',
      trainSize: MAX_SYNTHETIC_IMAGES + 1,
      testSize: 8,
      seed: 1,
      valFraction: 0,
      normalize: false,
      augment: false,
    };
    assert.throws(() => parseCoordinatorMsg(decode(welcome({ dataset: huge }), 1 << 20), ctx), code('ERR_BAD_FRAME'));
  },
);
