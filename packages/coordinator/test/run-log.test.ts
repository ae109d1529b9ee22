import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RunLog, readMetrics, type StepRecord, type WorkerConn } from '@dtrain/coordinator';

const step = (n: number): StepRecord => ({
  type: 'step',
  step: n,
  epoch: 0,
  loss: 1,
  accuracy: 0.5,
  lr: 0.1,
  samples: 8,
  samplesDigest: '',
  workers: 1,
  computeMs: {},
  links: {},
  stepMs: 2,
  waitMs: 1,
  decodeMs: 0,
  reduceUpdateMs: 0,
  broadcastMs: 0,
  assignMs: 0,
  coordMs: 0,
  bytesIn: 10,
  bytesOut: 20,
  reassigned: 0,
  gradNormSq: null,
  traceSigma: null,
  bSimple: null,
  time: 0,
});
const conn = {
  id: 3,
  label: 'w@h#3',
  hello: { host: 'h', backend: 'wasm', backendReason: 'test' },
} as unknown as WorkerConn;

test('a held step record is written before what follows it: the next step, an event, an evaluation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-log-'));
  const log = new RunLog(dir);
  const emitted: number[] = [];
  log.on('step', (r) => emitted.push(r.step));
  log.open({ any: 'config' }, null, 0);
  log.hold(step(1));
  assert.deepEqual(readMetrics(dir), [], 'held, not yet written');
  log.hold(step(2)); // writes step 1
  log.workerLost(conn, 'gone', 2); // writes step 2, then the event
  log.evaluated({
    type: 'eval',
    step: 2,
    epoch: 0,
    split: 'test',
    loss: 1,
    accuracy: 0.25,
    samples: 4,
    ms: 1,
    time: 0,
  });
  assert.deepEqual(
    readMetrics(dir).map((r) => `${r.type}${r.step}`),
    ['step1', 'step2', 'event2', 'eval2'],
  );
  assert.deepEqual(emitted, [1, 2]);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), { any: 'config' });
});

test('on resume, records after the checkpoint step are dropped and a resume event logged, at the first new record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-log-'));
  const first = new RunLog(dir);
  first.open({ attempt: 1 }, null, 0);
  for (const n of [1, 2, 3]) first.hold(step(n));
  first.flush();
  const again = new RunLog(dir);
  again.open({ attempt: 2 }, '/ckpt/step-00000002', 2);
  assert.equal(readMetrics(dir).length, 3, 'nothing changes before the resumed attempt records anything');
  assert.deepEqual(
    JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')),
    { attempt: 1 },
    "the first attempt's config.json is kept",
  );
  again.hold(step(3));
  again.flush();
  assert.deepEqual(
    readMetrics(dir).map((r) => `${r.type}${r.step}`),
    ['step1', 'step2', 'event2', 'step3'],
  );
});
