import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TrainerError } from '@dtrain/common';
import { checkpointName } from '@dtrain/coordinator';
import { resolveAutoResume } from '../../src/runs/coordinator.js';

test('--resume auto without --out is refused, naming --out', () => {
  assert.throws(
    () => resolveAutoResume('auto', undefined),
    (e: unknown) => e instanceof TrainerError && /--resume auto needs --out/.test(e.message),
  );
});

test('--resume auto: a fresh run when --out is missing or holds no checkpoint, the run in --out once it does', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'dtrain-auto-')), 'run');
  assert.equal(resolveAutoResume('auto', out), undefined);
  mkdirSync(join(out, 'checkpoints'), { recursive: true });
  assert.equal(resolveAutoResume('auto', out), undefined);
  mkdirSync(join(out, 'checkpoints', checkpointName(7)));
  assert.equal(resolveAutoResume('auto', out), out);
});

test('any other --resume value passes through', () => {
  assert.equal(resolveAutoResume('runs/a', 'runs/b'), 'runs/a');
  assert.equal(resolveAutoResume(undefined, 'runs/b'), undefined);
});
