import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkGpuBackend } from '../../src/runs/launch.js';

test('--gpus: refused where the workers would train on the CPU, unless --allow-cpu (then a warning)', () => {
  const loads = () => null;
  const missing = () => '@tensorflow/tfjs-node-gpu: no native binding';
  assert.doesNotThrow(() => checkGpuBackend('0,1', 'auto', false, loads));
  assert.throws(
    () => checkGpuBackend('0,1', 'auto', false, missing),
    (e: any) =>
      e.code === 'ERR_BAD_CONFIG' &&
      /--gpus 0,1: the workers would train on the CPU \(@tensorflow\/tfjs-node-gpu: no native binding\)/.test(
        e.message,
      ) &&
      /--allow-cpu/.test(e.hint),
  );
  assert.throws(() => checkGpuBackend('0', 'wasm', false, loads), /--backend wasm runs on the CPU/);
  const warned: string[] = [];
  checkGpuBackend('0', 'auto', true, missing, (l) => warned.push(l));
  assert.deepEqual(warned, [
    'warning: --gpus 0: the workers would train on the CPU (@tensorflow/tfjs-node-gpu: no native binding); going on (--allow-cpu)',
  ]);
});
