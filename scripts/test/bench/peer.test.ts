import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchPeer, peerModel, peerUnavailable } from '../../src/bench/peer.js';

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
