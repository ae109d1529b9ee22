import assert from 'node:assert/strict';
import { test } from 'node:test';
import { indicesDigest } from '@dtrain/common';
import { linkTimes, samplesDigest } from '@dtrain/coordinator';

test('samplesDigest covers the applied shards only, in shard order', () => {
  const shards = [
    { shardId: 0, indices: Uint32Array.of(5, 1) },
    { shardId: 1, indices: Uint32Array.of(7) },
  ];
  assert.equal(samplesDigest(shards, new Set([0, 1])), indicesDigest(Uint32Array.of(5, 1, 7)));
  assert.notEqual(samplesDigest(shards, new Set([0])), samplesDigest(shards, new Set([0, 1])));
  assert.notEqual(indicesDigest(Uint32Array.of(1, 5, 7)), indicesDigest(Uint32Array.of(5, 1, 7)));
});

test('linkTimes: the upload is the round trip less compute and download', () => {
  const g = { computeMs: 30, fetchMs: 5 } as Parameters<typeof linkTimes>[1];
  assert.deepEqual(linkTimes(50, g), { downloadMs: 5, uploadMs: 15 });
  assert.deepEqual(linkTimes(20, g), { downloadMs: 5, uploadMs: 0 });
});
