// Resuming never destroys what an earlier attempt recorded (metrics, summary, newer checkpoints).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clearRunDir, listCheckpoints, readMetrics } from '@dtrain/coordinator';
import { startRun, tempDir, testConfig, train } from './harness.js';

const snapshot = (out: string) => ({
  metrics: readFileSync(join(out, 'metrics.jsonl'), 'utf8'),
  summary: readFileSync(join(out, 'summary.json'), 'utf8'),
  checkpoints: listCheckpoints(out),
});

test('resuming a completed run changes nothing and says so', async () => {
  const cfg = testConfig({ maxSteps: 4, checkpointEvery: 2 });
  const { out } = await train(cfg, 2, { out: tempDir('done') });
  const before = snapshot(out);
  const run = await startRun(cfg, { resume: out, out, waitTimeoutMs: 500 });
  const summary = await run.run();
  assert.equal(summary.status, 'completed');
  assert.deepEqual(snapshot(out), before);
});

test('resuming an older checkpoint into a directory with newer ones is refused unless --overwrite', async () => {
  const cfg = testConfig({ maxSteps: 4, checkpointEvery: 2 });
  const { out } = await train(cfg, 2, { out: tempDir('older') });
  const before = snapshot(out);
  const older = before.checkpoints.find((d) => d.endsWith('step-00000002'))!;
  await assert.rejects(startRun(cfg, { resume: older, out }), /would discard 1 newer checkpoint\(s\)[\s\S]*/);
  assert.deepEqual(snapshot(out), before, 'nothing touched');
  const branch = await train(cfg, 2, { resume: older, out: tempDir('branch') });
  assert.equal(branch.summary.status, 'completed', 'a separate --out is a separate timeline');
  assert.deepEqual(snapshot(out), before);
  const idle = await startRun(cfg, { resume: older, out, overwrite: true, waitTimeoutMs: 500 });
  assert.equal((await idle.run()).status, 'failed'); // no workers: not a step done
  assert.deepEqual(snapshot(out), before, 'a resume with --overwrite that never did a step destroys nothing');
  const redo = await train(cfg, 2, { resume: older, out, overwrite: true });
  assert.equal(redo.summary.status, 'completed', redo.summary.error);
  assert.equal(readMetrics(out).filter((r) => r.type === 'step').length, 4, 'steps 3-4 redone, each recorded once');
});

test('--overwrite of a directory where a run is live is refused by its lock before anything is deleted', async () => {
  const cfg = testConfig({ maxSteps: 4, checkpointEvery: 2 });
  const { out } = await train(cfg, 2, { out: tempDir('live') });
  const older = listCheckpoints(out).find((d) => d.endsWith('step-00000002'))!;
  const live = await startRun(cfg, { resume: out, out, waitTimeoutMs: 60_000 }); // holds the lock (waits for workers)
  const before = snapshot(out);
  await assert.rejects(startRun(cfg, { resume: older, out, overwrite: true }), /in use by pid/);
  assert.throws(() => clearRunDir(out), /in use by pid/);
  assert.deepEqual(snapshot(out), before);
  live.coord.stop('test over');
  await live.run();
});

test('a resume that fails before its first step (no workers) keeps the summary, metrics and checkpoints', async () => {
  const cfg = testConfig({ maxSteps: 6, checkpointEvery: 2 });
  const first = await startRun(cfg, { out: tempDir('stopped') });
  first.coord.on('step', (r) => r.step === 3 && first.coord.stop('test'));
  const summaryP = first.run();
  const { worker } = await import('./harness.js');
  const ws = await Promise.all([worker(first.url, 'a'), worker(first.url, 'b')]);
  assert.equal((await summaryP).status, 'stopped');
  await Promise.all(ws.map((w) => w.done));
  const before = snapshot(first.out);
  const again = await startRun(cfg, { resume: first.out, out: first.out, waitTimeoutMs: 500 });
  const failed = await again.run();
  assert.equal(failed.status, 'failed');
  assert.match(failed.error ?? '', /ERR_NO_WORKERS|only 0 of/);
  assert.deepEqual(snapshot(first.out), before);
  assert.equal(JSON.parse(before.summary).status, 'stopped');
  assert.ok(readMetrics(first.out).every((r) => r.type !== 'event' || r.event !== 'resume'));
  const log = readFileSync(join(first.out, 'run.log'), 'utf8');
  // stopped after the step in flight when asked (3 or 4); the failed resume says why, then how it ended
  assert.match(log, /stop requested at step 3: test\n.* run stopped \(test\) at step [34]; final val/, 'the stop');
  assert.match(
    log,
    /resumed at step [34] from [\s\S]*run failed: only 0 of 1 workers[\s\S]*run failed at step [34]; final/,
  );
});

test('a run extended on resume says its new length in config.json; a resume that never started leaves it as it was', async () => {
  const cfg = testConfig({ maxSteps: 4, checkpointEvery: 2 });
  const { out } = await train(cfg, 2, { out: tempDir('extend') });
  const maxSteps = () => JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).maxSteps;
  const idle = await startRun(cfg, { resume: out, out, waitTimeoutMs: 500, resumeOverrides: { maxSteps: 6 } });
  assert.equal((await idle.run()).status, 'failed');
  assert.equal(maxSteps(), 4, 'no step done: nothing changed');
  const more = await train(cfg, 2, { resume: out, out, resumeOverrides: { maxSteps: 6 } });
  assert.equal(more.summary.steps, 6);
  assert.equal(maxSteps(), 6);
});
