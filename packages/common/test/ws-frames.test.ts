import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  acceptKey,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_TEXT,
  serverFrameHeader,
  unmaskInto,
  validCloseCode,
  WsFrameReader,
  WsProtocolError,
} from '../src/ws-frames.js';

/** A client frame as RFC 6455 writes it: masked, with the shortest length encoding. */
function clientFrame(
  op: number,
  payload: Uint8Array,
  o: { fin?: boolean; mask?: number[]; rsv?: number } = {},
): Uint8Array {
  const mask = Uint8Array.from(o.mask ?? [0x12, 0x34, 0x56, 0x78]);
  const n = payload.length;
  const len =
    n < 126
      ? [n]
      : n < 65536
        ? [126, n >> 8, n & 0xff]
        : [127, 0, 0, 0, 0, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  const head = [((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | op, 0x80 | len[0]!, ...len.slice(1), ...mask];
  const out = new Uint8Array(head.length + n);
  out.set(head);
  for (let i = 0; i < n; i++) out[head.length + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

function reader(limit = 1 << 20, lends = true) {
  const got: { kind: string; data: number[]; binary?: boolean }[] = [];
  const lent: number[] = [];
  const r = new WsFrameReader({
    limit: () => limit,
    lend: (bytes) => {
      lent.push(bytes);
      return lends ? new Uint8Array(bytes + 7) : null; // more room than asked, as a pool gives; or none
    },
    message: (data, binary) => got.push({ kind: 'message', data: [...data], binary }),
    control: (op, payload) => got.push({ kind: `control ${op}`, data: [...payload] }),
  });
  return { r, got, lent };
}

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

test('messages of every length encoding come out unmasked, whatever the split of the stream', () => {
  for (const n of [0, 1, 5, 125, 126, 1000, 65535, 65536, 200_003]) {
    const payload = bytes(n, n);
    const wire = clientFrame(OP_BINARY, payload, { mask: [0xa1, 0x02, 0xf3, 0x44] });
    for (const [step, lends] of [
      [1, true],
      [3, false],
      [7, true],
      [4096, true],
      [4096, false],
      [wire.length, true],
    ] as const) {
      if (n > 2000 && step < 4096) continue;
      const { r, got, lent } = reader(1 << 20, lends);
      for (let at = 0; at < wire.length; at += step) r.push(wire.subarray(at, at + step));
      assert.equal(got.length, 1, `${n} bytes in pieces of ${step}`);
      assert.deepEqual(got[0]!.data, [...payload]);
      assert.equal(got[0]!.binary, true);
      assert.deepEqual(lent, [n], 'the whole message is lent at its header');
    }
  }
});

test('unmasking starts at any mask phase and any alignment of the destination', () => {
  const mask = Uint8Array.of(1, 2, 4, 8);
  for (let phase = 0; phase < 4; phase++)
    for (let at = 0; at < 5; at++) {
      const src = bytes(37, at);
      const dst = new Uint8Array(50);
      unmaskInto(dst.subarray(1), at, src, mask, phase);
      for (let i = 0; i < src.length; i++) assert.equal(dst[1 + at + i], src[i]! ^ mask[(phase + i) & 3]!);
    }
});

test('several messages and control frames in one chunk, a ping between the fragments of a message', () => {
  const { r, got, lent } = reader(1000);
  const wire = [
    clientFrame(OP_TEXT, bytes(3)),
    clientFrame(OP_BINARY, bytes(10), { fin: false }),
    clientFrame(OP_PING, Uint8Array.of(9, 9)),
    clientFrame(OP_CONTINUATION, bytes(5, 7)),
    clientFrame(OP_CLOSE, Uint8Array.of(0x03, 0xe8)),
  ];
  r.push(Buffer.concat(wire));
  assert.deepEqual(
    got.map((g) => g.kind),
    ['message', 'control 9', 'message', 'control 8'],
  );
  assert.equal(got[0]!.binary, false);
  assert.deepEqual(got[2]!.data, [...bytes(10), ...bytes(5, 7)]);
  assert.deepEqual(lent, [3, 1000], 'a fragmented message is lent the limit');
  const pieces = reader(1000, false);
  pieces.r.push(Buffer.concat(wire));
  assert.deepEqual(pieces.got[2]!.data, [...bytes(10), ...bytes(5, 7)], 'in pieces when nothing is lent');
});

test('refused at the header, before any payload: unmasked, reserved bits, too big, bad opcodes and control frames', () => {
  const refuse = (wire: Uint8Array, code: number, words: RegExp, limit = 100) => {
    const { r, lent } = reader(limit);
    assert.throws(
      () => r.push(wire),
      (e: unknown) => e instanceof WsProtocolError && e.closeCode === code && words.test(e.message),
    );
    assert.deepEqual(lent, [], 'nothing lent for a refused frame');
  };
  const unmasked = clientFrame(OP_BINARY, bytes(4));
  unmasked[1] = unmasked[1]! & 0x7f;
  refuse(unmasked.subarray(0, 2), 1002, /must be masked/);
  refuse(clientFrame(OP_BINARY, bytes(4), { rsv: 0x40 }), 1002, /reserved bits/);
  refuse(clientFrame(OP_BINARY, bytes(101)).subarray(0, 8), 1009, /101 bytes \(limit 100\)/);
  refuse(clientFrame(0x3, bytes(1)), 1002, /unknown opcode 3/);
  refuse(clientFrame(0xb, bytes(1)), 1002, /unknown opcode 11/);
  refuse(clientFrame(OP_PING, bytes(1), { fin: false }), 1002, /must not be fragmented/);
  refuse(clientFrame(OP_PING, bytes(126)), 1002, /at most 125/);
  refuse(clientFrame(OP_CONTINUATION, bytes(1)), 1002, /no message to continue/);
  const huge = Uint8Array.of(0x82, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4);
  refuse(huge, 1009, /beyond 2\^53/);
});

test('a fragmented message may not outgrow the limit, nor a new one start inside it', () => {
  const { r } = reader(20);
  r.push(clientFrame(OP_BINARY, bytes(15), { fin: false }));
  assert.throws(() => r.push(clientFrame(OP_CONTINUATION, bytes(6))), /over 21 bytes \(limit 20\)/);
  const second = reader(20);
  second.r.push(clientFrame(OP_BINARY, bytes(5), { fin: false }));
  assert.throws(() => second.r.push(clientFrame(OP_BINARY, bytes(5))), /before the last one ended/);
});

test('an all-zero mask is a plain copy; close codes as RFC 6455 allows them', () => {
  const dst = new Uint8Array(9);
  unmaskInto(dst, 1, bytes(8), new Uint8Array(4), 2);
  assert.deepEqual([...dst.subarray(1)], [...bytes(8)]);
  for (const ok of [1000, 1001, 1003, 1007, 1011, 1014, 3000, 4008, 4999]) assert.ok(validCloseCode(ok), String(ok));
  for (const bad of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
    assert.ok(!validCloseCode(bad), String(bad));
});

test('server frame headers use the shortest length encoding', () => {
  assert.deepEqual([...serverFrameHeader(OP_BINARY, 5)], [0x82, 5]);
  assert.deepEqual([...serverFrameHeader(OP_BINARY, 300)], [0x82, 126, 1, 44]);
  assert.deepEqual([...serverFrameHeader(OP_PING, 0)], [0x89, 0]);
  assert.deepEqual([...serverFrameHeader(OP_BINARY, 2 ** 32 + 3)], [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 3]);
});

test('the accept key of RFC 6455 section 1.3, and keys that are not 16 bytes of base64 refused', () => {
  assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  assert.equal(
    acceptKey('dGhlIHNhbXBsZSBub25jZQ=='),
    createHash('sha1').update('dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64'),
  );
  for (const bad of [undefined, '', 'short==', 'dGhlIHNhbXBsZSBub25jZQ', 'dGhlIHNhbXBsZSBub25jZQ==x'])
    assert.equal(acceptKey(bad), null, String(bad));
});
