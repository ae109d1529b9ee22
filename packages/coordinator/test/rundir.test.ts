import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { TrainerError } from '@dtrain/common';
import { clearRunDir, RunDir, readMetrics } from '@dtrain/coordinator';

const dir = () => mkdtempSync(join(tmpdir(), 'dtrain-lock-'));

test('a run directory in use is refused by name; released, it can be taken again', () => {
  const d = dir();
  const first = new RunDir(d);
  first.lock();
  assert.throws(
    () => new RunDir(d).lock(),
    (e: TrainerError) =>
      e.message.includes(`in use by pid ${process.pid} on ${hostname()}`) &&
      e.hint === 'wait for that run to end, or choose another --out',
  );
  first.unlock();
  const second = new RunDir(d);
  second.lock();
  second.unlock();
});

test('a stale lock (its process is gone) is replaced; a lock from another host is refused with how to clear it', () => {
  const stale = dir();
  writeFileSync(join(stale, '.lock'), JSON.stringify({ pid: 999_999_999, host: hostname(), since: 'yesterday' }));
  const taker = new RunDir(stale);
  taker.lock();
  taker.unlock();
  const foreign = dir();
  writeFileSync(join(foreign, '.lock'), JSON.stringify({ pid: 1, host: 'gpu-node-07', since: 'today' }));
  assert.throws(
    () => new RunDir(foreign).lock(),
    (e: TrainerError) =>
      /in use by pid 1 on gpu-node-07/.test(e.message) && /remove .*\.lock if that process is gone/.test(e.hint ?? ''),
  );
});

test('readMetrics reads an archived metrics.jsonl.gz when the plain file is gone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-gz-'));
  const lines = [
    { type: 'event', step: 1, event: 'x', detail: 'y', time: 0 },
    { type: 'event', step: 2, event: 'x', detail: 'z', time: 0 },
  ];
  writeFileSync(join(dir, 'metrics.jsonl.gz'), gzipSync(lines.map((l) => JSON.stringify(l)).join('\n') + '\n'));
  assert.deepEqual(readMetrics(dir), lines);
  assert.deepEqual(readMetrics(join(dir, 'missing')), []);
});

test('--overwrite clears a run directory only under its lock: refused, touching nothing, while a live run holds it', () => {
  const d = dir();
  writeFileSync(join(d, 'metrics.jsonl'), '{}\n');
  mkdirSync(join(d, 'checkpoints'));
  const live = new RunDir(d);
  live.lock();
  assert.throws(() => clearRunDir(d), /in use by pid/);
  assert.deepEqual(readdirSync(d).sort(), ['.lock', 'checkpoints', 'metrics.jsonl']);
  live.unlock();
  clearRunDir(d);
  assert.deepEqual(readdirSync(d), []);
  assert.ok(!existsSync(join(d, '.lock')));
});

test('readMetrics skips lines that are not records (a torn or damaged line) instead of failing', () => {
  const d = dir();
  writeFileSync(
    join(d, 'metrics.jsonl'),
    '{"type":"event","step":1,"event":"x","detail":"y","time":0}\ngarbage\n[1,2]\nnull\n' +
      '{"type":"event","step":2,"event":"x","detail":"z","time":0}\n{"type":"ev',
  );
  assert.deepEqual(
    readMetrics(d).map((r) => r.step),
    [1, 2],
  );
});
