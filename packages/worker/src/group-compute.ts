// A task of the worker-count-invariant reduction (common's group-tree.ts): its samples as groups of G,
// each group's gradient computed on its own (one forward/backward of G samples, so the same float32
// vector on every worker), and the groups summed along the summation tree. The first group is computed
// straight into the output (the frame's payload), where the tree's sum also lands.

import { addInto, sumSquares, TreeStack } from '@dtrain/common';
import type { Network } from './network.js';

export interface GroupedOutput {
  lossSum: number;
  correct: number;
  /** Sum over the groups of |group gradient sum / group size|^2. */
  meanSqSum: number;
}

interface Part extends GroupedOutput {
  grad: Float32Array;
}

/** Scratch gradient buffers, reused across tasks (at most log2(groups) + 1 are alive). */
export class GradBuffers {
  private readonly free: Float32Array[] = [];
  constructor(private readonly length: number) {}
  take(): Float32Array {
    return this.free.pop() ?? new Float32Array(this.length);
  }
  give(b: Float32Array): void {
    this.free.push(b);
  }
}

/** The samples [i*G, min((i+1)*G, n)) of a batch held in x/y (px floats per sample). */
function group(x: Float32Array, y: Int32Array, px: number, start: number) {
  return { x: x.subarray(start * px), y: y.subarray(start) };
}

/** Gradient sum, loss sum and correct count of n samples as groups of G, joined along the tree, into `out`. */
export function groupedGradient(
  net: Network,
  batch: { x: Float32Array; y: Int32Array; n: number; px: number },
  groupSize: number,
  out: Float32Array,
  buffers: GradBuffers,
): GroupedOutput {
  const stack = new TreeStack<Part>((a, b) => {
    addInto(a.grad, b.grad);
    buffers.give(b.grad);
    return {
      lossSum: a.lossSum + b.lossSum,
      correct: a.correct + b.correct,
      meanSqSum: a.meanSqSum + b.meanSqSum,
      grad: a.grad,
    };
  });
  for (let start = 0; start < batch.n; start += groupSize) {
    const count = Math.min(groupSize, batch.n - start);
    const g = group(batch.x, batch.y, batch.px, start);
    const r = net.computeShard(g.x, g.y, count, start === 0 ? out : buffers.take());
    stack.push({
      lossSum: r.lossSum,
      correct: r.correct,
      meanSqSum: sumSquares(r.grad.subarray(0, net.trainableCount)) / (count * count),
      grad: r.grad,
    });
  }
  const { lossSum, correct, meanSqSum } = stack.finish();
  return { lossSum, correct, meanSqSum };
}

/** Loss sum and correct count of n evaluation samples as groups of G, joined along the tree. */
export function groupedEvaluation(
  net: Network,
  batch: { x: Float32Array; y: Int32Array; n: number; px: number },
  groupSize: number,
): { lossSum: number; correct: number } {
  const stack = new TreeStack<{ lossSum: number; correct: number }>((a, b) => ({
    lossSum: a.lossSum + b.lossSum,
    correct: a.correct + b.correct,
  }));
  for (let start = 0; start < batch.n; start += groupSize) {
    const g = group(batch.x, batch.y, batch.px, start);
    stack.push(net.evaluate(g.x, g.y, Math.min(groupSize, batch.n - start)));
  }
  return stack.finish();
}
