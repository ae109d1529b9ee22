import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type ImageSet, syntheticDataset } from '@dtrain/common';
import { cachedImageSet, cachedSyntheticSource, cacheFileName, MAX_CACHED_SETS } from '@dtrain/common/files';

function maker(seed: number): { make: () => ImageSet; calls: () => number } {
  let calls = 0;
  return {
    make: () => {
      calls++;
      const images = Uint8Array.from({ length: 3 * 12 }, (_, i) => (i * 7 + seed) % 256);
      return { images, labels: Uint8Array.from([seed % 10, 1, 2]), count: 3 };
    },
    calls: () => calls,
  };
}

test('synthetic cache: a miss makes and stores, a hit reads the same bytes without making', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-cache-'));
  const m = maker(5);
  const first = cachedImageSet(dir, 'k', 3, 12, m.make);
  const second = cachedImageSet(dir, 'k', 3, 12, m.make);
  assert.equal(m.calls(), 1);
  assert.deepEqual([...second.images], [...first.images]);
  assert.deepEqual([...second.labels], [...first.labels]);
  cachedImageSet(dir, 'other key', 3, 12, maker(6).make);
  assert.equal(readdirSync(dir).length, 2);
});

test('synthetic cache: a damaged or wrong-sized file is made again; no directory or an unwritable one still works', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-cache-'));
  const m = maker(9);
  const made = cachedImageSet(dir, 'k', 3, 12, m.make);
  const file = join(dir, readdirSync(dir)[0]!);
  const bytes = readFileSync(file);
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
  writeFileSync(file, bytes);
  assert.deepEqual([...cachedImageSet(dir, 'k', 3, 12, m.make).images], [...made.images]);
  assert.equal(m.calls(), 2);
  writeFileSync(file, bytes.subarray(0, 40));
  cachedImageSet(dir, 'k', 3, 12, m.make);
  assert.equal(m.calls(), 3);
  cachedImageSet(undefined, 'k', 3, 12, m.make);
  const notADir = join(dir, 'plain-file');
  writeFileSync(notADir, 'x');
  assert.deepEqual([...cachedImageSet(join(notADir, 'sub'), 'k', 3, 12, m.make).images], [...made.images]);
  assert.equal(m.calls(), 5);
});

test('synthetic dataset: built from the cache it is bit-identical (same fingerprint) to a fresh build', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-cache-'));
  const spec = { trainSize: 40, testSize: 10, seed: 7 };
  const fresh = syntheticDataset(spec, 0.25);
  const stored = syntheticDataset(spec, 0.25, cachedSyntheticSource(dir));
  const read = syntheticDataset(spec, 0.25, cachedSyntheticSource(dir));
  assert.equal(readdirSync(dir).length, 2);
  assert.equal(stored.fingerprint, fresh.fingerprint);
  assert.equal(read.fingerprint, fresh.fingerprint);
  assert.notEqual(
    syntheticDataset({ ...spec, seed: 8 }, 0.25, cachedSyntheticSource(dir)).fingerprint,
    fresh.fingerprint,
  );
});

test('synthetic cache: keeps the most recently used sets, and a hit counts as use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-cache-'));
  // Each new set gets an explicit, increasing time in the past, so the order does not hang on clock resolution.
  const past = Date.now() / 1000 - 10_000;
  const add = (i: number, m = maker(i)): void => {
    cachedImageSet(dir, `key ${i}`, 3, 12, m.make);
    utimesSync(join(dir, cacheFileName(`key ${i}`)), past + i, past + i);
  };
  const first = maker(0);
  add(0, first); // the oldest of all, unless its hits count
  for (let i = 1; i < MAX_CACHED_SETS + 3; i++) {
    add(i);
    cachedImageSet(dir, 'key 0', 3, 12, first.make); // a hit: now, newer than every other set
  }
  assert.equal(readdirSync(dir).filter((f) => f.endsWith('.bin')).length, MAX_CACHED_SETS);
  assert.equal(first.calls(), 1);
  const evicted = maker(1);
  cachedImageSet(dir, 'key 1', 3, 12, evicted.make);
  assert.equal(evicted.calls(), 1, 'the least recently used set was removed');
  const kept = maker(MAX_CACHED_SETS + 2);
  cachedImageSet(dir, `key ${MAX_CACHED_SETS + 2}`, 3, 12, kept.make);
  assert.equal(kept.calls(), 0, 'the most recently added set was kept');
});
