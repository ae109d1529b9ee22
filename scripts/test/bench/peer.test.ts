import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { forwardFlops, getModelSpec } from '@dtrain/common';
import { benchPeer, cpuMhz, peerModel, peerUnavailable, simdCeiling } from '../../src/bench/peer.js';

test('the peer benchmark says why it cannot run: no peer folder, or a Python without torch', async () => {
  assert.match(
    (await peerUnavailable({ peerDir: '/nonexistent', python: '/usr/bin/python3' }))!,
    /no PyTorch peer in \/nonexistent/,
  );
  const dir = mkdtempSync(join(tmpdir(), 'peer-'));
  writeFileSync(join(dir, 'torch_ddp_cifar_cnn.py'), '');
  assert.match((await peerUnavailable({ peerDir: dir, python: 'false' }))!, /cannot import torch/);
  await assert.rejects(
    benchPeer(
      { peerDir: dir, python: 'false', reps: 1, steps: 1, backend: 'wasm', model: 'resnet20' },
      () => undefined,
    ),
    /the PyTorch peer cannot run/,
  );
  await assert.rejects(
    benchPeer(
      { peerDir: dir, python: 'false', reps: 1, steps: 1, backend: 'wasm', model: 'resnet18' },
      () => undefined,
    ),
    /the peer has no resnet18/,
  );
});

test("the zoo's models by the peer's names", () => {
  assert.deepEqual(['reference-cnn', 'resnet8', 'resnet20', 'resnet56', 'resnet18', 'tiny-cnn'].map(peerModel), [
    'cnn',
    'resnet8',
    'resnet20',
    'resnet56',
    null,
    null,
  ]);
});

test('the SIMD ceiling: 3x forward FLOPs per image, 16 flop per cycle at the reported clock', () => {
  const c = simdCeiling('resnet20', 100, 200);
  assert.equal(c.flopPerImage, 3 * forwardFlops(getModelSpec('resnet20')));
  assert.equal(c.dtrainGflops, Number(((100 * c.flopPerImage) / 1e9).toFixed(2)));
  assert.equal(c.torchGflops, Number(((200 * c.flopPerImage) / 1e9).toFixed(2)));
  if (c.mhz > 0) {
    assert.equal(c.wasmSimdGflops, Number(((16 * c.mhz) / 1000).toFixed(1)));
    assert.ok(Math.abs(c.dtrainFractionOfCeiling! - c.dtrainGflops / ((16 * c.mhz) / 1000)) < 1e-3);
  }
});

test('the clock comes from /proc/cpuinfo where os.cpus() reports 0; unknown is 0', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cpuinfo-'));
  writeFileSync(join(dir, 'cpuinfo'), 'processor\t: 0\nmodel name\t: AMD EPYC\ncpu MHz\t\t: 2596.136\n');
  assert.equal(cpuMhz(join(dir, 'cpuinfo'), 0), 2596);
  assert.equal(cpuMhz(join(dir, 'cpuinfo'), 3000), 3000);
  assert.equal(cpuMhz(join(dir, 'none'), 0), 0);
});
