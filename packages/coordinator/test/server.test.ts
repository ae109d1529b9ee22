// The boundary: handshake, HMAC auth, and rejection of bad frames, over real sockets on port 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { decode, encode, PROTOCOL_VERSION, proveToken, type CoordinatorMsg } from '@dtrain/common';
import { CoordinatorServer } from '@dtrain/coordinator';

const TOKEN = 's3cret';
let server: CoordinatorServer;
let url = '';
const readyIds: number[] = [];

before(async () => {
  server = new CoordinatorServer({ host: '127.0.0.1', port: 0, token: TOKEN, maxParams: 4, log: () => undefined });
  server.setRun({
    runId: 'r', model: 'tiny-cnn', modelFingerprint: 'mfp', manifest: [{ name: 'w', shape: [4], offset: 0, length: 4 }],
    dataset: { name: 'synthetic', trainSize: 10, testSize: 10, seed: 1, valFraction: 0, normalize: false, augment: false }, datasetFingerprint: 'dfp',
  }, { paramCount: 4, trainSize: 10, evalSize: 10 });
  server.on('ready', (c) => readyIds.push(c.id));
  url = `ws://127.0.0.1:${await server.listen()}`;
});

after(async () => {
  await server.close();
});

interface Session {
  msgs: CoordinatorMsg[];
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  next: () => Promise<CoordinatorMsg>;
}

function connect(): Promise<Session> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    const msgs: CoordinatorMsg[] = [];
    const waiters: ((m: CoordinatorMsg) => void)[] = [];
    ws.on('message', (d: Buffer) => {
      const m = decode(d, 1 << 20) as CoordinatorMsg;
      msgs.push(m);
      waiters.shift()?.(m);
    });
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    let seen = 0;
    const next = () => (seen < msgs.length ? Promise.resolve(msgs[seen++]!) : new Promise<CoordinatorMsg>((r) => waiters.push((m) => (seen++, r(m)))));
    ws.on('open', () => resolve({ msgs, ws, closed, next }));
  });
}

const hello = (mac: string, protocol = PROTOCOL_VERSION) => encode({ kind: 'hello', protocol, mac, name: 't', host: 'h', pid: 1, backend: 'cpu', backendReason: 'test' });

test('a worker with the right token is welcomed and becomes ready', async () => {
  const s = await connect();
  const ch = await s.next();
  assert.equal(ch.kind, 'challenge');
  if (ch.kind !== 'challenge') return;
  assert.equal(ch.auth, true);
  s.ws.send(hello(proveToken(TOKEN, ch.nonce)));
  const w = await s.next();
  assert.equal(w.kind, 'welcome');
  s.ws.send(encode({ kind: 'ready', modelFingerprint: 'mfp', datasetFingerprint: 'dfp' }));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.readyWorkers().length, 1);
  s.ws.close();
  await s.closed;
});

test('a wrong token is refused before anything about the run is sent', async () => {
  const s = await connect();
  await s.next();
  s.ws.send(hello('00'.repeat(32)));
  const { code } = await s.closed;
  assert.equal(code, 1008);
  assert.deepEqual(s.msgs.map((m) => m.kind), ['challenge', 'reject']);
  assert.equal(s.msgs[1]!.kind === 'reject' && s.msgs[1]!.code, 'ERR_AUTH_FAILED');
});

test('protocol and fingerprint mismatches are refused with a reason', async () => {
  const s = await connect();
  await s.next();
  s.ws.send(hello('', PROTOCOL_VERSION + 1));
  assert.equal((await s.closed).code, 1008);
  assert.equal(s.msgs[1]!.kind === 'reject' && s.msgs[1]!.code, 'ERR_PROTOCOL_VERSION');

  const t = await connect();
  const ch = await t.next();
  t.ws.send(hello(proveToken(TOKEN, ch.kind === 'challenge' ? ch.nonce : '')));
  await t.next();
  t.ws.send(encode({ kind: 'ready', modelFingerprint: 'other', datasetFingerprint: 'dfp' }));
  await t.closed;
  assert.equal(t.msgs[2]!.kind === 'reject' && t.msgs[2]!.code, 'ERR_MODEL_MISMATCH');
});

test('bad frames close only that connection', async () => {
  const cases: [string, (ws: WebSocket) => void, number][] = [
    ['text frame', (ws) => ws.send('hello'), 1008],
    ['garbage bytes', (ws) => ws.send(Buffer.from([0xc1, 0xff, 0x00])), 1008],
    ['unknown kind', (ws) => ws.send(encode({ kind: 'shell', cmd: 'rm -rf /' })), 1008],
    ['work before handshake', (ws) => ws.send(encode({ kind: 'gradient', step: 1, version: 0, shardId: 0, count: 1, lossSum: 1, correct: 0, computeMs: 1, grad: new Float32Array(4) })), 1008],
    ['oversized before handshake', (ws) => ws.send(Buffer.alloc(100_000)), 1009],
  ];
  for (const [name, act, code] of cases) {
    const s = await connect();
    await s.next();
    act(s.ws);
    assert.equal((await s.closed).code, code, name);
  }
  // the server still serves
  const s = await connect();
  assert.equal((await s.next()).kind, 'challenge');
  s.ws.close();
});

test('a frame whose error would quote multi-byte input past 123 bytes closes only that connection (was: process exit)', async () => {
  for (const kind of ['€'.repeat(40), '😀'.repeat(200), '\u{10ffff}'.repeat(31) + 'x']) {
    const s = await connect();
    await s.next();
    s.ws.send(encode({ kind }));
    const { code, reason } = await s.closed;
    assert.equal(code, 1008);
    assert.equal(reason, 'ERR_UNKNOWN_KIND'); // our own code, never the sender's input
  }
  const s = await connect();
  assert.equal((await s.next()).kind, 'challenge');
  s.ws.close();
});
