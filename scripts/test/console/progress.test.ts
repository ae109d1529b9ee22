import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Status, statusLine, workersLine, wrapLine } from '../../src/console/progress.js';
import { runEndLine } from '../../src/experiment/run-experiment.js';

const s: Status = {
  step: 250,
  total: 500,
  etaSeconds: 95,
  epoch: 2.5,
  loss: 0.41234,
  accuracy: 0.8731,
  imagesPerSecond: 880.6,
  workers: 2,
  coordMs: 2.62,
};

test('a wide line has every field: percentage, ETA, epoch means, throughput, workers, coordinator time', () => {
  const line = statusLine(s, 200);
  assert.match(
    line,
    /^step 250\/500 \[#{15}-{15}\] 50% \| ETA 1:35 \| loss 0\.4123 \| accuracy 87\.3% \| epoch 2\.50 \| 881 img\/s \| 2 workers \| coordinator 2\.6 ms\/step$/,
  );
});

test('narrow lines drop the least important fields first and keep the ETA; nothing is cut mid-field', () => {
  const at80 = statusLine(s, 80);
  assert.ok(at80.length <= 80, at80);
  assert.match(at80, /50% \| ETA 1:35 \| loss 0\.4123 \| accuracy 87\.3%/);
  assert.doesNotMatch(at80, /coordinator/);
  const at40 = statusLine(s, 40);
  assert.ok(at40.length <= 40, at40);
  assert.match(at40, /^step 250\/500 .*50% \| ETA 1:35$/);
  assert.equal(statusLine({ ...s, etaSeconds: 7_500 }, 60).includes('ETA 2h05m'), true);
  // every width from the head alone to a full line: whole fields only, never a cut one (no "accuracy 87.3" tail)
  const fields = [
    '50%',
    'ETA 1:35',
    'loss 0.4123',
    'accuracy 87.3%',
    'epoch 2.50',
    '881 img/s',
    '2 workers',
    'coordinator 2.6 ms/step',
  ];
  for (let width = 14; width <= 160; width++) {
    const line = statusLine(s, width);
    assert.ok(line.length <= width, `${width}: ${line}`);
    const parts = line
      .replace(/^step 250\/500( \[[#-]*\])? ?/, '')
      .split(' | ')
      .filter(Boolean);
    for (const p of parts) assert.ok(fields.includes(p), `${width}: "${p}" in ${line}`);
  }
});

test('the summary names at most 8 workers, busiest first, and counts the rest', () => {
  const w = (i: number, samples: number) => ({
    label: `w${i}`,
    host: 'h',
    backend: 'wasm',
    backendReason: '',
    shards: 0,
    samples,
    computeMs: 0,
  });
  const many = [w(0, 0), w(1, 640), ...Array.from({ length: 20 }, (_, i) => w(i + 2, 0))];
  const line = workersLine(many);
  assert.ok(line.startsWith('w1 [wasm] 640 samples, w0 [wasm] 0 samples'), line);
  assert.ok(line.endsWith('and 14 more connection(s)'), line);
  assert.equal(workersLine([]), 'none');
});

test("a sweep's finished run gets a line with its result", () => {
  const o = {
    name: 'b64-momentum0.9-lr0.1-s1',
    summary: { status: 'completed', steps: 1200, final: { test: { accuracy: 0.6123 } } },
    bestValAccuracy: 0.6234,
    stepsToTarget: 949.64,
  } as never;
  assert.equal(
    runEndLine(2, 12, o),
    'run 3/12: b64-momentum0.9-lr0.1-s1 completed after 1200 steps: best val 62.34%, test 61.23%, target crossed at step 949.6 (interpolated)',
  );
});

test('a logged line wider than the terminal is wrapped at spaces into lines that fit (a wrapped line was partly overwritten by the bar)', () => {
  const line = 'evaluation (test) at step 382, epoch 1.00: loss 1.7143, accuracy 46.71% (10000 images, 14176 ms)';
  const lines = wrapLine(line, 40);
  assert.ok(
    lines.every((l) => l.length <= 40),
    JSON.stringify(lines),
  );
  assert.equal(lines.map((l) => l.trim()).join(' '), line);
  assert.deepEqual(wrapLine('short', 40), ['short']);
  assert.ok(
    wrapLine('x'.repeat(100), 40).every((l) => l.length <= 40),
    'a long word is cut',
  );
});
