// The catalogue of WebSocket protocol errors for the frame-level fuzzer, each a named generator of bytes
// that break the framing itself (not the msgpack inside: fuzz-frames.ts does that): lengths past any
// limit in the 16- and 64-bit forms, reserved opcodes and RSV bits, the wrong masking for the side,
// fragmented and oversized control frames, orphan and interleaved continuations, close frames with
// invalid codes, short payloads or invalid UTF-8, text with invalid UTF-8, bytes after a close.
import type { Rng } from '@dtrain/common';
import { closePayload, type FrameSpec, OP, wsFrame } from './raw-ws.js';

/** Who sends the frames: a client must mask them, a server must not. */
export type Side = 'client' | 'server';

export interface Hostile {
  kind: string;
  bytes: Buffer;
  frames: number;
}

type Maker = (rng: Rng, side: Side, maxPayload: number) => Buffer[];

const RESERVED_OPCODES = [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf];
const INVALID_CLOSE_CODES = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
const INVALID_UTF8 = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xc0, 0xaf]];

const bytes = (rng: Rng, n: number): Uint8Array => Uint8Array.from({ length: n }, () => rng.int(256));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.int(xs.length)]!;
/** A frame masked as the side must (or, with `wrong`, as it must not). */
const frame = (side: Side, f: FrameSpec, wrong = false): Buffer =>
  wsFrame({ ...f, mask: (side === 'client') !== wrong });

/** Every protocol-level error, by name. */
export const PROTOCOL_ERRORS: Readonly<Record<string, Maker>> = {
  'length 64-bit past 2^53': (rng, side) => [
    frame(side, {
      opcode: OP.binary,
      form: 64,
      declared: (1n << 63n) + BigInt(rng.int(1 << 30)),
      payload: bytes(rng, rng.int(32)),
    }),
  ],
  'length 64-bit past the payload limit': (rng, side, max) => [
    frame(side, {
      opcode: OP.binary,
      form: 64,
      declared: BigInt(max + 1 + rng.int(1 << 20)),
      payload: bytes(rng, rng.int(64)),
    }),
  ],
  'length 16-bit on a control frame': (rng, side) => [
    frame(side, { opcode: pick(rng, [OP.ping, OP.pong, OP.close]), form: 16, declared: BigInt(126 + rng.int(65_000)) }),
  ],
  'length 64-bit on a control frame': (rng, side) => [
    frame(side, { opcode: pick(rng, [OP.ping, OP.pong]), form: 64, declared: BigInt(rng.int(1 << 30)) }),
  ],
  'oversized control frame': (rng, side) => [
    frame(side, { opcode: pick(rng, [OP.ping, OP.pong, OP.close]), payload: bytes(rng, 126 + rng.int(400)) }),
  ],
  'fragmented control frame': (rng, side) => [
    frame(side, { opcode: pick(rng, [OP.ping, OP.pong, OP.close]), fin: false, payload: bytes(rng, rng.int(20)) }),
  ],
  'reserved opcode': (rng, side) => [
    frame(side, { opcode: pick(rng, RESERVED_OPCODES), payload: bytes(rng, rng.int(40)) }),
  ],
  'RSV bits set': (rng, side) => [
    frame(side, {
      opcode: pick(rng, [OP.binary, OP.text, OP.ping]),
      rsv: 1 + rng.int(7),
      payload: bytes(rng, rng.int(40)),
    }),
  ],
  'wrong masking for the side': (rng, side) => [
    frame(side, { opcode: OP.binary, payload: bytes(rng, rng.int(64)) }, true),
  ],
  'orphan continuation': (rng, side) => [frame(side, { opcode: OP.cont, payload: bytes(rng, rng.int(40)) })],
  'data frame inside a fragmented message': (rng, side) => [
    frame(side, { opcode: OP.binary, fin: false, payload: bytes(rng, 1 + rng.int(40)) }),
    frame(side, { opcode: pick(rng, [OP.binary, OP.text]), payload: bytes(rng, rng.int(40)) }),
  ],
  'fragments adding up past the limit': (rng, side, max) => [
    frame(side, { opcode: OP.binary, fin: false, payload: bytes(rng, 1 + rng.int(64)) }),
    frame(side, { opcode: OP.cont, form: 64, declared: BigInt(max), payload: bytes(rng, rng.int(64)) }),
  ],
  'close with an invalid code': (rng, side) => [
    frame(side, { opcode: OP.close, payload: closePayload(pick(rng, INVALID_CLOSE_CODES)) }),
  ],
  'close with a 1-byte payload': (rng, side) => [frame(side, { opcode: OP.close, payload: bytes(rng, 1) })],
  'close with invalid UTF-8': (rng, side) => [
    frame(side, { opcode: OP.close, payload: closePayload(1000, Uint8Array.from(pick(rng, INVALID_UTF8))) }),
  ],
  'text with invalid UTF-8': (rng, side) => [
    frame(side, { opcode: OP.text, payload: Uint8Array.from([0x61, ...pick(rng, INVALID_UTF8), 0x62]) }),
  ],
  'bytes after a close': (rng, side) => [
    frame(side, { opcode: OP.close, payload: closePayload(1000) }),
    frame(side, { opcode: OP.binary, payload: bytes(rng, rng.int(64)) }),
    Buffer.from(bytes(rng, 1 + rng.int(64))),
  ],
};

/** Frames that are valid WebSocket but mean nothing good (the protocol parser's job), and raw junk. */
const NOISE: Readonly<Record<string, Maker>> = {
  ping: (rng, side) => [frame(side, { opcode: OP.ping, payload: bytes(rng, rng.int(126)) })],
  'unsolicited pong': (rng, side) => [frame(side, { opcode: OP.pong, payload: bytes(rng, rng.int(126)) })],
  'binary junk': (rng, side) => [frame(side, { opcode: OP.binary, payload: bytes(rng, rng.int(300)) })],
  'empty binary': (_rng, side) => [frame(side, { opcode: OP.binary })],
  text: (rng, side) => [frame(side, { opcode: OP.text, payload: Buffer.from('x'.repeat(rng.int(100)) + '€') })],
  'raw bytes': (rng) => [Buffer.from(bytes(rng, 1 + rng.int(200)))],
};

export function protocolError(kind: string, rng: Rng, side: Side, maxPayload: number): Hostile {
  const parts = PROTOCOL_ERRORS[kind]!(rng, side, maxPayload);
  return { kind, bytes: Buffer.concat(parts), frames: parts.length };
}

/** A burst of 1-8 frames, mostly protocol errors: what one hostile connection sends at once. */
export function hostileBurst(rng: Rng, side: Side, maxPayload: number): Hostile {
  const kinds: string[] = [];
  const parts: Buffer[] = [];
  for (let i = 0, n = 1 + rng.int(8); i < n; i++) {
    const table = rng.int(4) === 0 ? NOISE : PROTOCOL_ERRORS;
    const kind = pick(rng, Object.keys(table));
    kinds.push(kind);
    parts.push(...table[kind]!(rng, side, maxPayload));
  }
  return { kind: kinds.join(', '), bytes: Buffer.concat(parts), frames: parts.length };
}

/** Upgrade requests a server must refuse (or upgrade safely), for the HTTP side of the boundary. */
export function brokenUpgrade(rng: Rng, request: (extra?: Record<string, string>, key?: string) => string): string {
  const ok = request();
  switch (rng.int(12)) {
    case 0:
      return request({ 'Sec-WebSocket-Key': '' });
    case 1:
      return request({}, 'not-16-bytes');
    case 2:
      return request({ 'Sec-WebSocket-Version': pick(rng, ['8', 'abc', '13, 8', '']) });
    case 3:
      return ok.replace(/^GET/, pick(rng, ['POST', 'PUT', 'BREW', 'get']));
    case 4:
      return request({ Upgrade: pick(rng, ['h2c', 'websockets', '']) });
    case 5:
      return request({ Connection: 'keep-alive' });
    case 6:
      return ok.replace('\r\n\r\n', `\r\nX-Bad\x01Header: \x7f\r\nno colon here\r\n\r\n`);
    case 7:
      return ok.replace('\r\n\r\n', `\r\nX-Big: ${'a'.repeat(20_000 + rng.int(60_000))}\r\n\r\n`);
    case 8:
      return ok.replace('HTTP/1.1', pick(rng, ['HTTP/1.0', 'HTTP/2', 'HTTP/9.9']));
    case 9:
      return ok.slice(0, rng.int(ok.length)); // cut short (the connection then ends)
    case 10:
      return request({
        'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits=7',
        'Sec-WebSocket-Protocol': '\u00ff,,',
      });
    default:
      return ok.replace('Host: x', 'Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked');
  }
}
