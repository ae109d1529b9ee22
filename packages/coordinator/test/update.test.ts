// The central update: slices applied as they land have the whole update's bits; an undo puts the weights and
// the optimizer state back bit for bit (a step that fell back to the star); a non-finite slice is refused.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type OptimizerConfig, Rng, ShardReducer, sliceLayout } from '@dtrain/common';
import { CentralUpdate } from '../src/update.js';

const N = 3 * 4096 + 77;
const manifest = [{ name: 'w', shape: [N], offset: 0, length: N }];
const momentum: OptimizerConfig = { momentum: 0.9, form: 'pytorch', dampening: 0, nesterov: false, weightDecay: 1e-4 };
const layout = sliceLayout(N, 3);
const outcome = { reassigned: 0, decodeMs: 0 };
const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function fresh(seed: number): { update: CentralUpdate; grad: Float32Array } {
  const rng = new Rng(seed);
  const weights = Float32Array.from({ length: N }, () => rng.next() - 0.5);
  const update = new CentralUpdate(momentum, manifest, { weights, optimizerState: {} });
  const grad = Float32Array.from({ length: N }, () => rng.next() - 0.5);
  return { update, grad };
}

/** A reducer holding one shard's gradient (its mean: grad / 4), as a round would leave it. */
function reduced(u: CentralUpdate, grad: Float32Array): ShardReducer {
  const r = new ShardReducer(u.meanGrad, 1);
  r.add({ shardId: 0, count: 4, lossSum: 1, correct: 1, grad: Float32Array.from(grad) });
  return r;
}

test('slices applied as they land, in any order, give the whole update bit for bit; an undo restores everything', () => {
  const [whole, sliced] = [fresh(1), fresh(1)];
  for (let step = 1; step <= 3; step++) {
    whole.update.apply(step, 0.1, outcome, reduced(whole.update, whole.grad));
    const r = reduced(sliced.update, sliced.grad);
    r.finish(); // the mean in place, as the sliced reducer leaves each slice
    const [w0, v0] = [
      Float32Array.from(sliced.update.weights),
      Float32Array.from(sliced.update.optimizer.state().velocity!),
    ];
    sliced.update.applySlice(step, 0.1, layout[2]!);
    sliced.update.applySlice(step, 0.1, layout[0]!);
    sliced.update.undoSlices(); // fell back to the star
    assert.deepEqual(bits(sliced.update.weights), bits(w0), `step ${step}: weights restored`);
    assert.deepEqual(bits(sliced.update.optimizer.state().velocity!), bits(v0), `step ${step}: velocity restored`);
    for (const j of [1, 2, 0]) sliced.update.applySlice(step, 0.1, layout[j]!);
    sliced.update.finishSlices(step, 0.1, outcome, r);
    assert.deepEqual(bits(sliced.update.weights), bits(whole.update.weights), `step ${step}: the whole update's bits`);
  }
});

test('a slice whose mean is not finite is refused and the slices applied before it are undone', () => {
  const { update, grad } = fresh(2);
  reduced(update, grad).finish();
  const w0 = Float32Array.from(update.weights);
  update.applySlice(1, 0.1, layout[0]!);
  update.meanGrad[layout[1]!.offset + 5] = Number.NaN;
  assert.throws(() => update.applySlice(1, 0.1, layout[1]!), { code: 'ERR_DIVERGED' });
  assert.deepEqual(bits(update.weights), bits(w0));
});
