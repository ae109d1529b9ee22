import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  CHUNK_BYTES,
  CHUNK_HEADER_BYTES,
  ChunkAssembler,
  chunkFrame,
  needsChunks,
  ReceiveBuffers,
  TrainerError,
} from '@dtrain/common';

const frame = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const lender =
  (buffers = new ReceiveBuffers()) =>
  (n: number) =>
    buffers.take(n);

test('a large frame goes in pieces of at most CHUNK_BYTES and comes back whole, byte for byte', () => {
  const f = frame(3 * CHUNK_BYTES + 5);
  assert.ok(needsChunks(f) && !needsChunks(frame(CHUNK_BYTES)));
  const pieces = chunkFrame(f);
  assert.equal(pieces.length, 4);
  assert.ok(pieces.every((p) => p.length <= CHUNK_BYTES));
  const a = new ChunkAssembler(1 << 20);
  const got = pieces.map((p) => a.add(p, lender()));
  assert.deepEqual(got.slice(0, 3), [null, null, null]);
  assert.ok(a.busy === false && got[3] !== null);
  assert.deepEqual(Buffer.from(got[3]!), Buffer.from(f));
  assert.equal(got[3]!.byteOffset, 0, 'aligned: a tensor frame in it decodes to a view');
});

test('pieces out of order, repeated, of another frame, past the end, too large or malformed are refused', () => {
  const pieces = chunkFrame(frame(2 * CHUNK_BYTES + 100));
  const refused = (seq: Uint8Array[], why: RegExp, max = 1 << 20) => {
    const a = new ChunkAssembler(max);
    assert.throws(
      () => {
        for (const p of seq) a.add(p, lender());
      },
      (e: unknown) => e instanceof TrainerError && e.code === 'ERR_BAD_FRAME' && why.test(e.message),
    );
  };
  refused([pieces[1]!], /at 65520 of .* where 0 of/);
  refused([pieces[0]!, pieces[0]!], /at 0 of .* where 65520 of/);
  refused([pieces[0]!, pieces[2]!], /where 65520 of/);
  refused([pieces[0]!, chunkFrame(frame(2 * CHUNK_BYTES + 101))[1]!], /where 65520 of 131172/);
  refused([pieces[0]!], /at most 1000 here/, 1000);
  refused([pieces[0]!.subarray(0, 10)], /no header/);
  const lying = Uint8Array.from(pieces[2]!);
  lying[1] = 0; // the last piece says it is not
  refused([pieces[0]!, pieces[1]!, lying], /not/);
  const short = pieces[0]!.subarray(0, CHUNK_HEADER_BYTES + 5); // says 65520 bytes, carries 5
  refused([short], /carries 5/);
  const small = chunkFrame(frame(2 * CHUNK_BYTES))[0]!;
  new DataView(small.buffer).setUint32(4, 100, true); // a frame that needs no pieces
  refused([small], /pieces only for frames over/);
});

test('receive buffers are lent, given back once, and lent again; a connection that closes mid-frame gives its back', () => {
  const buffers = new ReceiveBuffers(2);
  const a = new ChunkAssembler(1 << 20);
  const pieces = chunkFrame(frame(CHUNK_BYTES + 10));
  a.add(pieces[0]!, (n) => buffers.take(n));
  const whole = a.add(pieces[1]!, (n) => buffers.take(n))!;
  const release = buffers.lease(whole);
  assert.equal(buffers.size, 0);
  release();
  release();
  assert.equal(buffers.size, 1, 'given back once');
  assert.equal(buffers.take(100).buffer, whole.buffer, 'lent again');
  const b = new ChunkAssembler(1 << 20);
  b.add(pieces[0]!, (n) => buffers.take(n));
  assert.ok(b.busy && b.abandon() !== null && !b.busy);
});
