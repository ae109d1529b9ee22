import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  answerChallenge,
  checkTokenProof,
  handshakeTranscript,
  PROTOCOL_VERSION,
  SessionCipher,
  sessionKey,
  TrainerError,
} from '@dtrain/common';

const pair = (token = 't') => {
  const key = sessionKey(token, 'transcript');
  return { coord: new SessionCipher(key, 'coordinator'), worker: new SessionCipher(key, 'worker') };
};
const authFailed = (e: unknown) => e instanceof TrainerError && e.code === 'ERR_AUTH_FAILED';

test('frames sealed by one side open on the other, in order, both ways; the bytes on the wire are not the frame', () => {
  const { coord, worker } = pair();
  const frame = new TextEncoder().encode('weights v1');
  const sealed = coord.seal(frame);
  assert.equal(sealed.length, frame.length + 16);
  assert.equal(Buffer.from(sealed).includes(Buffer.from('weights')), false, 'encrypted');
  assert.deepEqual([...worker.open(sealed)], [...frame]);
  assert.equal(worker.open(coord.seal(new Uint8Array([1]))).toString('hex'), '01');
  assert.equal(coord.open(worker.seal(new Uint8Array([2, 3]))).toString('hex'), '0203');
});

test('a flipped bit, a replay, a reordering, a dropped frame, a reflected frame or another key fails', () => {
  const flip = pair();
  const s = flip.coord.seal(new Uint8Array(64));
  s[10]! ^= 1;
  assert.throws(() => flip.worker.open(s), authFailed);

  const replay = pair();
  const first = replay.coord.seal(new Uint8Array([1]));
  replay.worker.open(first);
  assert.throws(() => replay.worker.open(first), authFailed);

  const order = pair();
  const a = order.coord.seal(new Uint8Array([1]));
  const b = order.coord.seal(new Uint8Array([2]));
  assert.throws(() => order.worker.open(b), authFailed, 'b before a');
  assert.equal(order.worker.open(a)[0], 1);

  const reflect = pair();
  assert.throws(
    () => reflect.coord.open(reflect.coord.seal(new Uint8Array([1]))),
    authFailed,
    'its own frame sent back',
  );

  const other = sessionKey('another token', 'transcript');
  assert.throws(() => new SessionCipher(other, 'worker').open(pair().coord.seal(new Uint8Array([1]))), authFailed);
  assert.throws(() => pair().worker.open(new Uint8Array(5)), authFailed, 'shorter than a tag');
});

test("answerChallenge: the proof covers the whole hello and the coordinator opens the worker's sealed frames; no token, no session", () => {
  const who = { name: 'w', host: 'h', pid: 1, backend: 'wasm', backendReason: 'test' };
  const challenge = { kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: 'c', auth: true } as const;
  const { hello, session } = answerChallenge(challenge, 'tok', who);
  const transcript = handshakeTranscript(challenge, hello);
  assert.equal(checkTokenProof('tok', transcript, hello.mac), true);
  const coord = new SessionCipher(sessionKey('tok', transcript), 'coordinator');
  assert.equal(coord.open(session!.seal(new Uint8Array([7])))[0], 7);
  const plain = answerChallenge({ ...challenge, auth: false }, undefined, who);
  assert.deepEqual([plain.hello.mac, plain.session], ['', null]);
});

test('a worker that holds a token answers no challenge that does not ask for it (no downgrade), and says why', () => {
  const who = { name: 'w', host: 'h', pid: 1, backend: 'wasm', backendReason: 'test' };
  assert.throws(
    () => answerChallenge({ kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: 'c', auth: false }, 'tok', who),
    (e: unknown) =>
      e instanceof TrainerError &&
      e.code === 'ERR_AUTH_FAILED' &&
      /does not ask for a token, but this worker holds one/.test(e.message),
  );
});

test('frames of many pieces seal and open, in place too (over the sealed bytes, no copy); a flipped bit still fails in place', () => {
  const { coord, worker } = pair();
  for (const n of [0, 1, 16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 100_003]) {
    const frame = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff);
    const sealed = coord.seal(frame);
    assert.equal(sealed.length, n + 16);
    const copy = Buffer.from(coord.seal(frame)); // the next frame in the stream, opened in place below
    assert.deepEqual([...worker.open(sealed)], [...frame], `${n} bytes`);
    const plain = worker.open(copy, true);
    assert.equal(plain.buffer, copy.buffer, 'opened in place: a view of the sealed bytes');
    assert.deepEqual([...plain], [...frame], `${n} bytes in place`);
  }
  const s = coord.seal(new Uint8Array(40_000));
  s[30_000]! ^= 1;
  assert.throws(() => worker.open(s, true), authFailed);
});
