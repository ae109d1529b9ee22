import assert from 'node:assert/strict';
import { test } from 'node:test';
import { measureFloor, memcpyNsPerByte } from '../../src/bench/floor.js';

test('bench floor: the pump moves N x P x 4 bytes each way per step over TCP and a Unix socket, read as Node does or into one buffer', async () => {
  for (const [transport, reads] of [
    ['tcp', 'node'],
    ['unix', 'node'],
    ['tcp', 'reused'],
    ['unix', 'reused'],
  ] as const) {
    const p = await measureFloor({ params: 50_000, workers: 2, steps: 12, transport, reads });
    assert.equal(p.transport, transport);
    assert.equal(p.reads, reads);
    assert.ok(p.serverGcMsPerStep >= 0);
    assert.equal(p.bytesPerStep, 2 * 2 * 4 * 50_000, 'in and out, both workers');
    assert.equal(p.steps, 9, 'the steps after a warmup of a quarter');
    assert.ok(p.serverCpuMsPerStep > 0 && p.serverNsPerByte > 0 && p.stepMs > 0, JSON.stringify(p));
    assert.ok(Math.abs(p.floorOverMemcpy - p.serverNsPerByte / p.memcpyNsPerByte) < 0.05 * p.floorOverMemcpy + 0.02);
  }
});

test('memcpy is priced per byte of a buffer too large for the caches', () => {
  const ns = memcpyNsPerByte(8 * 1024 * 1024);
  assert.ok(ns > 0 && ns < 10, `${ns} ns per byte`);
});
