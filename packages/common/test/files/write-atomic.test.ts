import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic, writeJsonAtomic } from '@dtrain/common/files';

test('an atomic write replaces the file whole and leaves no temporary behind', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-atomic-'));
  const p = join(dir, 'a.json');
  writeJsonAtomic(p, { a: 1 });
  writeFileAtomic(p, new Uint8Array([104, 105]), { durable: true });
  assert.equal(readFileSync(p, 'utf8'), 'hi');
  assert.deepEqual(readdirSync(dir), ['a.json']);
});

test('a failed write throws, keeps the old file and removes its temporary', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-atomic-'));
  const p = join(dir, 'a.json');
  writeJsonAtomic(p, { a: 1 });
  assert.throws(() => writeFileAtomic(join(dir, 'missing', 'b'), 'x'), /ENOENT/);
  assert.throws(() => writeFileAtomic(dir, 'x'), /EISDIR|EEXIST|ENOTEMPTY/); // rename over a directory
  assert.equal(readFileSync(p, 'utf8'), '{\n  "a": 1\n}\n');
  assert.deepEqual(readdirSync(dir), ['a.json']);
});
