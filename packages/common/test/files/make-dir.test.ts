import assert from 'node:assert/strict';
import { mkdtempSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeDir } from '@dtrain/common/files';

test('makeDir: creates missing parents, accepts an existing directory, refuses a file', () => {
  const root = mkdtempSync(join(tmpdir(), 'dtrain-mkdir-'));
  const deep = join(root, 'a', 'b', 'c');
  makeDir(deep);
  assert.ok(statSync(deep).isDirectory());
  makeDir(deep);
  writeFileSync(join(root, 'f'), 'x');
  assert.throws(() => makeDir(join(root, 'f')), /ENOTDIR/);
  assert.throws(() => makeDir(join(root, 'f', 'sub')), /ENOTDIR/);
});

test("makeDir: a parent that cannot hold children fails at once (Node 20's recursive mkdir spins forever under /proc)", () => {
  const root = mkdtempSync(join(tmpdir(), 'dtrain-mkdir-'));
  symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
  assert.throws(() => makeDir(join(root, 'dangling', 'sub')), /ENOENT/);
  assert.throws(() => makeDir('/proc/dtrain-no-such-dir/sub'));
});
