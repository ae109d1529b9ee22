// The worker-count-invariant reduction (group-tree.ts): each task is a node of the batch's summation
// tree, its result the node's sums (gradient in float32; loss and the groups' squared mean-gradient norms
// in float64, all along the tree; correct answers and samples exactly). Nodes are joined as their siblings
// arrive; finish() divides by the batch size. A relay joins the nodes of its own task the same way.

import { finiteNorm, type Reduced, type Reducer, type ShardResult } from './averaging.js';
import { TrainerError } from './errors.js';
import { addInto, type Combine, groupCount, TreeSum } from './group-tree.js';

/** A node's sums. */
export interface NodeSums {
  count: number;
  lossSum: number;
  correct: number;
  /** Sum over the node's groups of |group gradient sum / group size|^2, in tree order. */
  meanSqSum: number;
  grad: Float32Array;
}

/** Join two nodes' sums (the gradient added into the left one's buffer). */
export const joinSums: Combine<NodeSums> = (a, b) => ({
  count: a.count + b.count,
  lossSum: a.lossSum + b.lossSum,
  correct: a.correct + b.correct,
  meanSqSum: a.meanSqSum + b.meanSqSum,
  grad: addInto(a.grad, b.grad),
});

/** A task of the invariant reduction: which groups [lo, hi) of the batch's tree it covers. */
export interface TreeNode {
  lo: number;
  hi: number;
}

/** A gradient result of the invariant reduction carries its groups' squared norms. */
export type GroupResult = ShardResult & { meanSqSum?: number };

export class GroupReducer implements Reducer {
  private readonly tree: TreeSum<NodeSums>;
  private readonly seen = new Set<number>();

  /**
   * @param out where the mean gradient goes (a reused buffer)
   * @param nodes each task's node, by task id
   * @param samples the batch size B; @param groupSize G
   * @param trainable the gradient's values before the running statistics (the norm is theirs)
   */
  constructor(
    private readonly out: Float32Array,
    private readonly nodes: readonly TreeNode[],
    private readonly samples: number,
    private readonly groupSize: number,
    private readonly trainable = out.length,
  ) {
    this.tree = new TreeSum(groupCount(samples, groupSize), joinSums);
  }

  add(r: GroupResult): void {
    const node = this.nodes[r.shardId];
    if (!node || this.seen.has(r.shardId)) {
      throw new TrainerError('ERR_DUPLICATE_GRADIENT', `shard ${r.shardId} is not expected in this reduction`);
    }
    if (r.grad.length !== this.out.length) {
      throw new TrainerError(
        'ERR_SHAPE_MISMATCH',
        `shard ${r.shardId} gradient has ${r.grad.length} values, expected ${this.out.length}`,
      );
    }
    this.seen.add(r.shardId);
    const { count, lossSum, correct, grad } = r;
    this.tree.add(node.lo, node.hi, { count, lossSum, correct, meanSqSum: r.meanSqSum ?? 0, grad });
  }

  get complete(): boolean {
    return this.tree.complete;
  }

  finish(): Reduced {
    const root = this.tree.root();
    if (root.count !== this.samples) {
      throw new TrainerError('ERR_NO_WORKERS', `the reduction holds ${root.count} of ${this.samples} samples`);
    }
    const norms = meanInPlace(this.out, this.samples, this.trainable, root.grad);
    return groupReduced(this.out, root, norms, this.samples, this.groupSize);
  }
}

/** A reduction along the groups' tree: the mean in `meanGrad`, the root's counts, the norms of the mean. */
export function groupReduced(
  meanGrad: Float32Array,
  root: Omit<NodeSums, 'grad'>,
  { normSq, tail }: { normSq: number; tail: number },
  samples: number,
  groupSize: number,
): Reduced {
  return {
    meanGrad,
    meanLoss: root.lossSum / samples,
    accuracy: root.correct / samples,
    samples,
    meanNormSq: normSq,
    finite: finiteNorm(normSq, tail),
    small: groupSmallBatches(samples, groupSize, root.meanSqSum),
  };
}

/** The batch's groups as the noise estimate's small batches (all of G samples but maybe the last). */
export function groupSmallBatches(samples: number, groupSize: number, meanSqSum: number) {
  const k = groupCount(samples, groupSize);
  const last = samples - (k - 1) * groupSize;
  return { k, invCountSum: (k - 1) / groupSize + 1 / last, meanSqSum };
}

/** sum / samples into `out` (which may be `sum`) in float32, with |mean|² of the first `trainable` values. */
export function meanInPlace(
  out: Float32Array,
  samples: number,
  trainable: number,
  sum: Float32Array = out,
): { normSq: number; tail: number } {
  const inv = 1 / samples;
  let normSq = 0;
  let tail = 0;
  for (let i = 0; i < trainable; i++) {
    const v = Math.fround(sum[i]! * inv);
    out[i] = v;
    normSq += v * v;
  }
  for (let i = trainable; i < out.length; i++) {
    const v = Math.fround(sum[i]! * inv);
    out[i] = v;
    tail += v * 0;
  }
  return { normSq, tail };
}
