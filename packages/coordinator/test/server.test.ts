// The boundary: handshake, HMAC auth, and rejection of bad frames, over real sockets on port 0.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeUnchecked, PROTOCOL_VERSION, proveToken, type HelloMsg } from '@dtrain/common';
import { CoordinatorServer } from '@dtrain/coordinator';
import { CoordinatorLink } from '@dtrain/worker/link';

const TOKEN = 's3cret';
let server: CoordinatorServer;
let url = '';

before(async () => {
  server = new CoordinatorServer({ host: '127.0.0.1', port: 0, token: TOKEN, maxParams: 4, log: () => undefined });
  server.setRun({
    runId: 'r', model: 'tiny-cnn', modelFingerprint: 'mfp', manifest: [{ name: 'w', shape: [4], offset: 0, length: 4 }],
    dataset: { name: 'synthetic', trainSize: 10, testSize: 10, seed: 1, valFraction: 0, normalize: false, augment: false }, datasetFingerprint: 'dfp',
  }, { paramCount: 4, trainSize: 10, evalSize: 10 });
  url = `ws://127.0.0.1:${await server.listen()}`;
});

after(async () => {
  await server.close();
});

const hello = (mac: string, protocol = PROTOCOL_VERSION): HelloMsg => ({ kind: 'hello', protocol, mac, name: 't', host: 'h', pid: 1, backend: 'cpu', backendReason: 'test' });

test('a worker with the right token is welcomed and becomes ready', async () => {
  const link = await CoordinatorLink.open(url);
  const ch = await link.expect('challenge');
  assert.equal(ch.auth, true);
  link.send(hello(proveToken(TOKEN, ch.nonce)));
  const w = await link.expect('welcome');
  link.send({ kind: 'ready', modelFingerprint: w.modelFingerprint, datasetFingerprint: w.datasetFingerprint });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(server.readyWorkers().length, 1);
  link.close();
  await link.closed;
});

test('a wrong token is refused before anything about the run is sent', async () => {
  const link = await CoordinatorLink.open(url);
  await link.expect('challenge');
  link.send(hello('00'.repeat(32)));
  assert.equal((await link.expect('reject')).code, 'ERR_AUTH_FAILED');
  assert.equal(await link.next(), null);
  assert.equal((await link.closed).code, 1008);
});

test('protocol and fingerprint mismatches are refused with a reason', async () => {
  const s = await CoordinatorLink.open(url);
  await s.expect('challenge');
  s.send(hello('', PROTOCOL_VERSION + 1));
  assert.equal((await s.expect('reject')).code, 'ERR_PROTOCOL_VERSION');
  assert.equal((await s.closed).code, 1008);

  const t = await CoordinatorLink.open(url);
  const ch = await t.expect('challenge');
  t.send(hello(proveToken(TOKEN, ch.nonce)));
  await t.expect('welcome');
  t.send({ kind: 'ready', modelFingerprint: 'other', datasetFingerprint: 'dfp' });
  assert.equal((await t.expect('reject')).code, 'ERR_MODEL_MISMATCH');
  await t.closed;
});

test('bad frames close only that connection', async () => {
  const cases: [string, (l: CoordinatorLink) => void, number][] = [
    ['text frame', (l) => l.sendRaw('hello'), 1008],
    ['garbage bytes', (l) => l.sendRaw(Buffer.from([0xc1, 0xff, 0x00])), 1008],
    ['unknown kind', (l) => l.sendRaw(encodeUnchecked({ kind: 'shell', cmd: 'rm -rf /' })), 1008],
    ['work before handshake', (l) => l.send({ kind: 'gradient', step: 1, version: 0, shardId: 0, count: 1, lossSum: 1, correct: 0, computeMs: 1, grad: new Float32Array(4) }), 1008],
    ['oversized before handshake', (l) => l.sendRaw(Buffer.alloc(100_000)), 1009],
  ];
  for (const [name, act, code] of cases) {
    const link = await CoordinatorLink.open(url);
    await link.expect('challenge');
    act(link);
    assert.equal((await link.closed).code, code, name);
  }
  // the server still serves
  const link = await CoordinatorLink.open(url);
  await link.expect('challenge');
  link.close();
});

test('a frame whose error would quote multi-byte input past 123 bytes closes only that connection (was: process exit)', async () => {
  for (const kind of ['€'.repeat(40), '😀'.repeat(200), '\u{10ffff}'.repeat(31) + 'x']) {
    const link = await CoordinatorLink.open(url);
    await link.expect('challenge');
    link.sendRaw(encodeUnchecked({ kind }));
    const { code, reason } = await link.closed;
    assert.equal(code, 1008);
    assert.equal(reason, 'ERR_UNKNOWN_KIND'); // our own code, never the sender's input
  }
  const link = await CoordinatorLink.open(url);
  await link.expect('challenge');
  link.close();
});
