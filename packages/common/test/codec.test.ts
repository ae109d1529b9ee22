import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decode,
  encode,
  finishTensorFrame,
  floatPayload,
  TENSOR_FRAME_MAGIC,
  TENSOR_PREFIX_BYTES,
  TrainerError,
  tensorFrameCapacity,
} from '@dtrain/common';
import { Packr } from 'msgpackr';

const code = (c: string) => (e: unknown) => e instanceof TrainerError && e.code === c;
const packr = new Packr({ useRecords: false });

/** A tensor frame put together by hand: prefix fields, elements, header bytes. */
function handFrame(dtype: number, n: number, payload: Uint8Array, header: unknown, flags = 0): Uint8Array {
  const head = packr.pack(header);
  const out = new Uint8Array(TENSOR_PREFIX_BYTES + payload.length + head.length);
  out[0] = TENSOR_FRAME_MAGIC;
  out[1] = dtype;
  out[2] = flags;
  new DataView(out.buffer).setUint32(4, n, true);
  out.set(payload, TENSOR_PREFIX_BYTES);
  out.set(head, TENSOR_PREFIX_BYTES + payload.length);
  return out;
}

test('a message with one tensor becomes a tensor frame whose elements decode as a view (no copy)', () => {
  const data = Float32Array.from({ length: 1000 }, (_, i) => i / 7);
  const bytes = encode({ kind: 'weights', version: 3, data });
  assert.equal(bytes[0], TENSOR_FRAME_MAGIC);
  const m = decode(bytes, 1 << 20) as { kind: string; version: number; data: Float32Array };
  assert.equal(m.kind, 'weights');
  assert.equal(m.version, 3);
  assert.deepEqual(m.data, data);
  assert.equal(m.data.buffer, bytes.buffer, 'the decoded tensor is a view of the frame');
  assert.equal(Object.hasOwn(m, '$tensor'), false);
});

test('a frame at an unaligned offset decodes to a copy with the same values', () => {
  const bytes = encode({
    kind: 'assign',
    step: 1,
    version: 0,
    epoch: 0,
    shardId: 0,
    indices: new Uint32Array([1, 2, 4_000_000_000]),
  });
  const shifted = new Uint8Array(bytes.length + 1);
  shifted.set(bytes, 1);
  const m = decode(shifted.subarray(1), 1 << 20) as { indices: Uint32Array };
  assert.deepEqual([...m.indices], [1, 2, 4_000_000_000]);
  assert.notEqual(m.indices.buffer, shifted.buffer);
});

test('a gradient computed straight into a reused buffer round-trips, and the frame is a prefix of the buffer', () => {
  const n = 257;
  const buffer = new Uint8Array(tensorFrameCapacity(n));
  for (const step of [1, 2]) {
    const payload = floatPayload(buffer, n);
    for (let i = 0; i < n; i++) payload[i] = step * i - 100;
    const frame = finishTensorFrame(
      buffer,
      { kind: 'gradient', step, version: 0, shardId: 0, count: 1, lossSum: 1.5, correct: 0, computeMs: 0 },
      n,
    );
    assert.equal(frame.buffer, buffer.buffer);
    const m = decode(frame, 1 << 20) as { step: number; lossSum: number; grad: Float32Array };
    assert.equal(m.step, step);
    assert.equal(m.lossSum, 1.5);
    assert.equal(m.grad[n - 1], step * (n - 1) - 100);
  }
  assert.throws(() => floatPayload(new Uint8Array(10), n), /cannot hold/);
});

test('plain messages stay msgpack; the tensor field is the one the message kind names', () => {
  const bytes = encode({ kind: 'shutdown', reason: 'done' });
  assert.notEqual(bytes[0], TENSOR_FRAME_MAGIC);
  assert.deepEqual(decode(bytes, 1 << 10), { kind: 'shutdown', reason: 'done' });
  const w = decode(encode({ kind: 'weights', version: 1, data: new Float32Array([2]) }), 1 << 10) as Record<
    string,
    unknown
  >;
  assert.deepEqual(Object.keys(w).sort(), ['data', 'kind', 'version']);
});

test('malformed tensor frames are refused with a reason', () => {
  const four = new Uint8Array(16);
  const ok = handFrame(1, 4, four, { kind: 'weights', $tensor: 'data' });
  assert.equal((decode(ok, 1 << 10) as { data: Float32Array }).data.length, 4);
  assert.throws(() => decode(ok.subarray(0, 5), 1 << 10), code('ERR_BAD_FRAME'));
  assert.throws(() => decode(handFrame(9, 4, four, { $tensor: 'data' }), 1 << 10), /unknown dtype/);
  assert.throws(() => decode(handFrame(1, 4, four, { $tensor: 'data' }, 1), 1 << 10), /unknown dtype or flags/);
  // declares more elements than it carries (the header would be read from inside the payload)
  assert.throws(() => decode(handFrame(1, 1000, four, { $tensor: 'data' }), 1 << 10), code('ERR_SHAPE_MISMATCH'));
  assert.throws(() => decode(handFrame(1, 4, four, [1, 2]), 1 << 10), /not a map/);
  assert.throws(() => decode(handFrame(1, 4, four, { kind: 'weights' }), 1 << 10), /names no valid tensor field/);
  assert.throws(() => decode(handFrame(1, 4, four, { $tensor: '__proto__' }), 1 << 10), /names no valid tensor field/);
  assert.throws(
    () => decode(handFrame(1, 4, four, { data: 1, $tensor: 'data' }), 1 << 10),
    /names no valid tensor field/,
  );
  const broken = handFrame(1, 4, four, { $tensor: 'data' });
  broken[broken.length - 1] = 0xc1;
  assert.throws(() => decode(broken.subarray(0, broken.length - 2), 1 << 10), code('ERR_BAD_FRAME'));
});
