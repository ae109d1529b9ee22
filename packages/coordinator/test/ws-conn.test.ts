import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { ReceivePool } from '@dtrain/common';
import { WebSocket } from 'ws';
import { ServerWebSocket } from '../src/ws-conn.js';

/** An HTTP server whose upgrades become ServerWebSockets (limit 1 MB, a pool lending from 64 KiB). */
async function serve(limit = 1 << 20) {
  const pool = new ReceivePool({ threshold: 65_536, maxLent: 8, maxFree: 2, poison: false, budget: { bytes: 1e9 } });
  const conns: ServerWebSocket[] = [];
  const errors: string[] = [];
  const early: Buffer[] = []; // messages read at start(), before a test could listen
  let starting = false;
  const http = createServer();
  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const ws = ServerWebSocket.upgrade(req, socket, head, pool, () => limit);
    if (!ws) return;
    ws.on('error', (e) => errors.push(e.message));
    conns.push(ws);
    const keep = (d: Buffer) => starting && early.push(Buffer.from(d));
    ws.on('message', keep);
    starting = true;
    ws.start();
    starting = false;
    ws.off('message', keep);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const port = (http.address() as { port: number }).port;
  const client = async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await once(ws, 'open');
    while (conns.length === 0) await new Promise((r) => setImmediate(r));
    return { ws, server: conns.at(-1)! };
  };
  return { pool, conns, errors, early, port, client, close: () => http.close() };
}

test('messages both ways, large ones lent from the pool and reused two rounds later', async () => {
  const s = await serve();
  const { ws, server } = await s.client();
  const got: Buffer[] = [];
  server.on('message', (d, binary) => {
    assert.equal(binary, true);
    got.push(Buffer.from(d)); // a copy: the view is only ours until the buffer comes back
  });
  const big = Buffer.alloc(490_000, 7);
  for (let i = 0; i < 6; i++) {
    big[0] = i;
    ws.send(big);
    ws.send(Buffer.of(1, 2, 3));
    while (got.length < 2 * (i + 1)) await new Promise((r) => setImmediate(r));
    s.pool.nextRound();
  }
  assert.equal(got.length, 12);
  assert.deepEqual(
    got.filter((g) => g.length === 490_000).map((g) => g[0]),
    [0, 1, 2, 3, 4, 5],
  );
  assert.ok(got.filter((g) => g.length === 490_000).every((g) => g.subarray(1).every((b) => b === 7)));
  assert.ok(s.pool.allocated <= 3, `${s.pool.allocated} buffers for 6 large messages`);
  const echoed = once(ws, 'message');
  server.send(Uint8Array.of(9, 8, 7));
  const [data] = (await echoed) as [Buffer];
  assert.deepEqual([...data], [9, 8, 7]);
  ws.terminate();
  s.close();
});

test('pings are answered with pongs and reported; a ping from the server reaches the client', async () => {
  const s = await serve();
  const { ws, server } = await s.client();
  const pinged = once(server, 'ping');
  const ponged = once(ws, 'pong');
  ws.ping(Buffer.of(4, 2));
  assert.deepEqual([...((await pinged)[0] as Buffer)], [4, 2]);
  assert.deepEqual([...((await ponged)[0] as Buffer)], [4, 2]);
  const clientPinged = once(ws, 'ping');
  const serverPonged = once(server, 'pong');
  server.ping(Buffer.of(5));
  await clientPinged;
  assert.deepEqual([...((await serverPonged)[0] as Buffer)], [5]);
  ws.terminate();
  s.close();
});

test('the closing handshake either way carries the code and reason', async () => {
  const s = await serve();
  const a = await s.client();
  const closedA = once(a.server, 'close');
  const clientSaw = once(a.ws, 'close');
  a.server.close(4008, 'ERR_BAD_FRAME');
  const [code, reason] = (await clientSaw) as [number, Buffer];
  assert.equal(code, 4008);
  assert.equal(reason.toString(), 'ERR_BAD_FRAME');
  assert.equal(((await closedA) as [number])[0], 4008, 'the peer echoed our code');
  const b = await s.client();
  const closedB = once(b.server, 'close');
  b.ws.close(1000, 'bye');
  const [codeB, reasonB] = (await closedB) as [number, Buffer];
  assert.equal(codeB, 1000);
  assert.equal(reasonB.toString(), 'bye');
  const c = await s.client();
  const closedC = once(c.server, 'close');
  c.ws.terminate();
  assert.equal(((await closedC) as [number])[0], 1006, 'no close frame: abnormal');
  let failed: Error | undefined;
  c.server.send(Uint8Array.of(1), (e) => (failed = e));
  await new Promise((r) => setImmediate(r));
  assert.match(String(failed), /not open/);
  s.close();
});

test('a message over the limit is refused at its header with 1009; an unmasked frame with 1002', async () => {
  const s = await serve(1000);
  const { ws, server } = await s.client();
  const closed = new Promise((r) => server.once('close', r)); // once() would reject at the 'error' before it
  const clientSaw = once(ws, 'close');
  ws.send(Buffer.alloc(1001));
  assert.equal(((await clientSaw) as [number])[0], 1009);
  await closed;
  assert.match(s.errors.join('\n'), /message of 1001 bytes \(limit 1000\)/);
  // a raw client that does not mask
  const raw = connect(s.port, '127.0.0.1');
  await once(raw, 'connect');
  raw.write(
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  );
  const answer = await once(raw, 'data');
  assert.match(String(answer[0]), /101 Switching Protocols[\s\S]*s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=/);
  raw.write(Buffer.of(0x82, 0x01, 0x2a));
  await once(raw, 'close');
  assert.match(s.errors.join('\n'), /must be masked/);
  s.close();
});

test('an upgrade request that is not a WebSocket one gets 400 and no connection', async () => {
  const s = await serve();
  const raw = connect(s.port, '127.0.0.1');
  await once(raw, 'connect');
  raw.write(
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n\r\n',
  );
  const [answer] = (await once(raw, 'data')) as [Buffer];
  assert.match(answer.toString(), /^HTTP\/1.1 400/);
  await once(raw, 'close');
  assert.equal(s.conns.length, 0);
  s.close();
});

test('frames pipelined behind the upgrade request are read once the caller starts the connection', async () => {
  const s = await serve();
  const request =
    'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
  const good = connect(s.port, '127.0.0.1');
  await once(good, 'connect');
  good.write(Buffer.concat([Buffer.from(request), Buffer.of(0x82, 0x83, 0, 0, 0, 0, 1, 2, 3)]));
  while (s.conns.length === 0) await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    s.early.map((d) => [...d]),
    [[1, 2, 3]],
  );
  const bad = connect(s.port, '127.0.0.1');
  await once(bad, 'connect');
  bad.write(Buffer.concat([Buffer.from(request), Buffer.of(0x80, 0x81, 0, 0, 0, 0, 1)])); // a continuation of nothing
  bad.resume(); // read the answer, so the end (and 'close') can come
  await once(bad, 'close');
  assert.match(s.errors.join('\n'), /no message to continue/, 'reported to the listener, not thrown');
  good.destroy();
  s.close();
});
