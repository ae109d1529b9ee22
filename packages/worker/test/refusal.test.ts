import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PROTOCOL_VERSION } from '@dtrain/common';
import { judgeRefusal, RefusalJudge, unanswerableChallenge } from '../src/refusal.js';

const reject = (code: string, message = 'm') => ({ kind: 'reject' as const, code, message });

test('no room is retried; a permanent refusal is believed only after our hello; anything else costs a reconnect', () => {
  assert.equal(judgeRefusal(reject('ERR_TOO_MANY_WORKERS'), 'ws://c', true).kind, 'retry');
  assert.equal(
    judgeRefusal(reject('ERR_MODEL_MISMATCH'), 'ws://c', false).kind,
    'reconnect',
    'before the hello: forged',
  );
  assert.equal(judgeRefusal(reject('ERR_MODEL_MISMATCH'), 'ws://c', true).kind, 'permanent');
  assert.equal(judgeRefusal(reject('ERR_BAD_FRAME'), 'ws://c', true).kind, 'reconnect');
});

test('a refused token is believed on the third connection in a row; a welcome in between starts the count again', () => {
  const judge = new RefusalJudge('ws://c');
  const kinds = (): string[] => [1, 2, 3].map(() => judge.judge(reject('ERR_AUTH_FAILED'), true).kind);
  assert.deepEqual(kinds(), ['reconnect', 'reconnect', 'permanent']);
  const fresh = new RefusalJudge('ws://c');
  fresh.judge(reject('ERR_AUTH_FAILED'), true);
  fresh.judge(reject('ERR_AUTH_FAILED'), true);
  fresh.welcomed();
  assert.equal(fresh.judge(reject('ERR_AUTH_FAILED'), true).kind, 'reconnect');
  assert.equal(
    new RefusalJudge('ws://c').judge(reject('ERR_PROTOCOL_VERSION'), true).kind,
    'permanent',
    'only the token is doubted',
  );
});

test('a challenge of another protocol version, or one asking for a token this worker lacks, cannot be answered', () => {
  const challenge = { kind: 'challenge' as const, protocol: PROTOCOL_VERSION, nonce: 'n', auth: false };
  assert.equal(unanswerableChallenge(challenge, false), null);
  assert.equal(unanswerableChallenge({ ...challenge, auth: true }, true), null);
  assert.match(unanswerableChallenge({ ...challenge, auth: true }, false)!.reason, /requires a token/);
  const other = unanswerableChallenge({ ...challenge, protocol: PROTOCOL_VERSION + 1 }, true)!;
  assert.match(other.reason, /^ERR_PROTOCOL_VERSION: the coordinator speaks protocol \d+, this worker \d+/);
  assert.equal(other.close, 'ERR_PROTOCOL_VERSION');
});
