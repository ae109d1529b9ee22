// The frame-level fuzzer: seeded lanes of raw TCP clients that speak WebSocket badly (wire-frames.ts)
// through every admission state while admission is saturated, and a hostile coordinator that answers a
// worker's dial with broken upgrades and broken framing in every handshake state, then, once its budget is
// spent, hands the worker's connections to a real coordinator (a TCP proxy) so the worker must still train.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { encode, PROTOCOL_VERSION, Rng } from '@dtrain/common';
import { tinyWelcome } from './fuzz-frames.js';
import {
  acceptKey,
  dialRaw,
  FrameReader,
  handshake,
  nextFrame,
  OP,
  type RawConn,
  upgradeRequest,
  wsFrame,
} from './raw-ws.js';
import { brokenUpgrade, type Hostile, hostileBurst } from './wire-frames.js';

export interface FuzzCount {
  frames: number;
  connections: number;
  /** Connections per admission state or handshake state reached. */
  states: Record<string, number>;
}

const newCount = (): FuzzCount => ({ frames: 0, connections: 0, states: {} });

/** One more connection that reached `state`. */
function tally(count: FuzzCount, state: string): void {
  count.states[state] = (count.states[state] ?? 0) + 1;
  count.connections++;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Send a burst on a connection, whole or in pieces, then end it one of three ways. */
async function hit(rng: Rng, c: RawConn, bad: Hostile, count: FuzzCount): Promise<void> {
  count.frames += bad.frames;
  if (c.sock.destroyed) return;
  if (rng.int(3) === 0) {
    for (let at = 0; at < bad.bytes.length && !c.sock.destroyed; ) {
      const n = 1 + rng.int(64);
      c.sock.write(bad.bytes.subarray(at, at + n));
      at += n;
      await new Promise((r) => setImmediate(r));
    }
  } else c.sock.write(bad.bytes);
  switch (rng.int(3)) {
    case 0:
      return void c.sock.end(); // half-open: we say no more, the server may still write
    case 1:
      return void c.sock.destroy();
    default:
      await Promise.race([c.closed, sleep(200)]);
  }
}

export interface ServerFuzz {
  port: number;
  seed: number;
  /** Fuzz until this says enough. */
  until: (count: FuzzCount) => boolean;
  /** The token of the server, for connections that prove themselves first. */
  token: string | undefined;
  /** ws maxPayload of the target (lengths just past it are sent). */
  maxPayload: number;
  lanes: number;
  /** Pending connections one address may hold (to reach refusals). */
  perAddress: number;
}

/** One lane: its own loopback address, connections in a seeded mix of admission states. */
async function lane(o: ServerFuzz, i: number, count: FuzzCount, quota: () => boolean): Promise<void> {
  const rng = new Rng(o.seed * 1000 + i);
  const localAddress = `127.0.${1 + (o.seed % 200)}.${10 + i}`;
  const dial = (): Promise<RawConn> => dialRaw(o.port, { localAddress });
  const burst = (): Hostile => hostileBurst(rng, 'client', o.maxPayload);
  const seen = (state: string): void => tally(count, state);
  const sleepers: Promise<void>[] = [];
  while (quota()) {
    const scenario = rng.int(8);
    if (scenario === 0 || scenario === 1) {
      // pending: at once, or after the challenge
      const c = await dial();
      if (scenario === 1) await nextFrame(c, 500);
      seen('pending');
      await hit(rng, c, burst(), count);
    } else if (scenario === 2) {
      // proved with the token (welcomed), then broken framing
      const c = await dial();
      const ok = o.token !== undefined && (await handshake(c, o.token).catch(() => null)) !== null;
      seen(ok ? 'proved' : 'pending');
      await hit(rng, c, burst(), count);
    } else if (scenario === 3) {
      // the address saturated: its next connection evicts its oldest (others pending or evicted by other lanes)
      const held = await Promise.all(Array.from({ length: o.perAddress }, dial));
      const next = await dial();
      seen('address saturated');
      await Promise.all([next, ...held].map((c) => hit(rng, c, burst(), count)));
    } else if (scenario === 4) {
      // closed by us after a frame that is valid WebSocket but not our protocol
      const c = await dial();
      c.sock.write(wsFrame({ opcode: OP.binary, payload: Buffer.from('junk') }));
      seen('closed by us');
      await hit(rng, c, burst(), count);
    } else if (scenario === 5) {
      // closed by the peer mid-frame
      const c = await dial();
      const bad = burst();
      count.frames += bad.frames;
      seen('closed mid-frame');
      c.sock.end(bad.bytes.subarray(0, 1 + rng.int(Math.max(1, bad.bytes.length - 1))));
    } else if (scenario === 6) {
      // a broken upgrade request, sometimes with frames pipelined behind it
      const head = rng.int(2) === 0 ? burst() : null;
      const c = await dialRaw(o.port, {
        localAddress,
        request: brokenUpgrade(rng, upgradeRequest),
        waitMs: 500,
        ...(head ? { head: head.bytes } : {}),
      });
      count.frames += 1 + (head?.frames ?? 0);
      seen(c.status === 101 ? 'upgraded despite a broken request' : 'upgrade refused');
      c.sock.destroy();
    } else if (sleepers.length < 2) {
      // held idle until we close it (handshake deadline, or eviction), then hit (in the background)
      const c = await dial();
      sleepers.push(
        (async () => {
          for (let f = await nextFrame(c, 10_000); f && f.opcode !== OP.close; f = await nextFrame(c, 10_000));
          seen('held until closed by us');
          await hit(rng, c, burst(), count);
        })(),
      );
    }
  }
  await Promise.all(sleepers);
}

/** Fuzz a listening server (a coordinator or a relay's local port) until `until` says enough. */
export async function fuzzServer(o: ServerFuzz): Promise<FuzzCount> {
  const count = newCount();
  await Promise.all(Array.from({ length: o.lanes }, (_, i) => lane(o, i, count, () => !o.until(count))));
  return count;
}

/** A hostile coordinator for one worker: every dial meets broken HTTP or broken framing in some state. */
export interface HostileCoordinator {
  url: string;
  count: FuzzCount;
  /** Resolves once `frames` were sent; from then on every connection is piped to `realPort`. */
  spent: Promise<void>;
  close(): void;
}

const CHALLENGE = (): Buffer =>
  wsFrame({
    opcode: OP.binary,
    mask: false,
    payload: encode({ kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: 'n'.repeat(48), auth: false }),
  });

const welcomeFrame = (): Buffer => wsFrame({ opcode: OP.binary, mask: false, payload: encode(tinyWelcome()) });

/** Wait for the next binary frame from the worker (its hello or ready). */
async function heard(reader: FrameReader, sock: Socket, ms = 3000): Promise<boolean> {
  const t0 = Date.now();
  while (!reader.frames.some((f) => f.opcode === OP.binary)) {
    if (Date.now() - t0 > ms || sock.destroyed) return false;
    await sleep(2);
  }
  reader.frames.length = 0;
  return true;
}

const BROKEN_RESPONSES = (key: string): string[] => [
  'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key + 'x')}\r\n\r\n`,
  `HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ` +
    `${acceptKey(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: ` +
    `Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\nSec-WebSocket-Protocol: chat\r\n\r\n`,
  'HTTP/1.1 101\r\nX: \x00\x01\r\n\r\n',
  'garbage\r\n\r\n',
  `HTTP/1.1 101 Switching Protocols\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`,
];

/** Serve one worker's dial as a hostile coordinator (or, once spent, as a pipe to the real one). */
async function serveHostile(sock: Socket, request: Buffer, rng: Rng, count: FuzzCount): Promise<void> {
  const key = /Sec-WebSocket-Key: (\S+)/i.exec(request.toString('latin1'))?.[1] ?? '';
  const seen = (state: string): void => tally(count, state);
  const scenario = rng.int(6);
  if (scenario === 0) {
    seen('broken upgrade response');
    count.frames++;
    return void sock.end(BROKEN_RESPONSES(key)[rng.int(8)]!);
  }
  sock.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
  );
  const reader = new FrameReader();
  sock.on('data', (d: Buffer) => reader.push(d));
  let state = 'before the challenge';
  if (scenario >= 2) {
    sock.write(CHALLENGE());
    state = (await heard(reader, sock)) ? 'after the hello' : 'no hello';
  }
  if (scenario >= 3 && state === 'after the hello') {
    sock.write(welcomeFrame());
    state = (await heard(reader, sock)) ? 'after ready' : 'no ready';
  }
  if (scenario === 4) {
    sock.write(wsFrame({ opcode: OP.close, mask: false, payload: Buffer.from([0x03, 0xe8]) }));
    state = 'after our close';
  }
  seen(state);
  const bad = hostileBurst(rng, 'server', 1 << 30);
  count.frames += bad.frames;
  if (scenario === 5) return void sock.end(bad.bytes.subarray(0, 1 + rng.int(Math.max(1, bad.bytes.length - 1)))); // mid-frame
  sock.write(bad.bytes);
  if (rng.int(2) === 0) sock.end();
  else setTimeout(() => sock.destroy(), 100);
}

export async function hostileCoordinator(
  seed: number,
  frames: number,
  realPort: () => number,
): Promise<HostileCoordinator> {
  const rng = new Rng(seed);
  const count = newCount();
  let spend: () => void = () => undefined;
  const spent = new Promise<void>((r) => (spend = r));
  const server: Server = createServer((sock) => {
    sock.on('error', () => undefined);
    let request = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      request = Buffer.concat([request, d]);
      if (request.indexOf('\r\n\r\n') < 0) return;
      sock.off('data', onData);
      if (count.frames >= frames) return pipe(sock, request, realPort());
      void serveHostile(sock, request, rng, count).then(() => {
        if (count.frames >= frames) spend();
      });
    };
    sock.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `ws://127.0.0.1:${(server.address() as { port: number }).port}`,
    count,
    spent,
    close: () => server.close(),
  };
}

/** The connection from here on is the real coordinator's. */
function pipe(sock: Socket, request: Buffer, port: number): void {
  const up = connect(port, '127.0.0.1');
  up.on('error', () => sock.destroy());
  up.write(request);
  sock.pipe(up).pipe(sock);
  sock.on('close', () => up.destroy());
}
