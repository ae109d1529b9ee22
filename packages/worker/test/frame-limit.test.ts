import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_HANDSHAKE_BYTES } from '@dtrain/common';
import { selectBackend, WorkerClient } from '@dtrain/worker';
import WebSocket, { WebSocketServer } from 'ws';
import { HANDSHAKE_PAYLOAD_BYTES, setMaxPayload } from '../src/frame-limit.js';

async function server(onConnection: (ws: WebSocket) => void): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', onConnection);
  return {
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    close: () => new Promise((r) => wss.close(() => r())),
  };
}

test('a connection opens with room for a handshake frame only; raising the limit lets larger frames through (ws 8 still has the field)', async () => {
  const s = await server((ws) => ws.on('message', (d: Buffer) => ws.send(Buffer.alloc(d.readUInt32LE(0)))));
  const ws = new WebSocket(s.url, { maxPayload: HANDSHAKE_PAYLOAD_BYTES });
  await new Promise((r) => ws.once('open', r));
  const ask = (n: number): Promise<number | string> =>
    new Promise((resolve) => {
      ws.once('message', (d: Buffer) => resolve(d.length));
      ws.once('error', (e) => resolve(e.message));
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n);
      ws.send(b);
    });
  assert.equal(await ask(MAX_HANDSHAKE_BYTES), MAX_HANDSHAKE_BYTES);
  assert.equal(setMaxPayload(ws, 1 << 20), true);
  assert.equal(await ask(1 << 20), 1 << 20);
  assert.equal(setMaxPayload(ws, 1000), true);
  assert.equal(await ask(4096), 'Max payload size exceeded');
  await s.close();
});

test("a fake coordinator's 16 MiB frame before any welcome is cut off by size, not buffered; the worker lives and redials", async () => {
  let connections = 0;
  const s = await server((ws) => {
    connections++;
    ws.send(Buffer.alloc(16 << 20));
  });
  const warned: string[] = [];
  const client = new WorkerClient({
    url: s.url,
    token: undefined,
    name: 't',
    backend: await selectBackend('cpu'),
    giveUpMs: 0,
    log: () => undefined,
    warn: (l) => warned.push(l),
  });
  const running = client.run();
  while (connections < 2) await new Promise((r) => setTimeout(r, 20));
  client.stop('test over');
  assert.equal((await running).ok, true);
  assert.ok(
    warned.some((l) => /^the coordinator broke the WebSocket protocol \(Max payload size exceeded/.test(l)),
    warned.join('\n'),
  );
  await s.close();
});
