// Sharded summation (SSCU: sharded summation, central update). With H host servers, the parameter vector
// is cut into H contiguous slices aligned to the int8 block; host server j owns slice j: every host sends
// it slice j of its node's sum, it joins them along the batch's summation tree and sends the joined slice
// to the coordinator, which applies the update and sends slice j of the new weights back through it.
// Adding is element by element, so joining slices along the tree gives exactly the bits of joining the
// whole vectors: a sharded run is bitwise a run through relays with the same hosts (SlicedReducer below
// equals GroupReducer over the same nodes).

import { type Reduced, type Reducer } from './averaging.js';
import { GRAD_BLOCK, type WireGradient } from './compress.js';
import { TrainerError } from './errors.js';
import {
  type GroupResult,
  groupReduced,
  joinSums,
  meanInPlace,
  type NodeSums,
  type TreeNode,
} from './group-reducer.js';
import { addInto, groupCount, TreeSum } from './group-tree.js';
import { MAX_WORKERS } from './limits.js';

export interface Slice {
  offset: number;
  length: number;
}

/**
 * `n` values over `owners` owners: contiguous, in owner order, cut at multiples of `block` (the last
 * slice ends at n), sizes differing by at most one block; with fewer blocks than owners some are empty.
 */
export function sliceLayout(n: number, owners: number, block = GRAD_BLOCK): Slice[] {
  if (!(Number.isInteger(owners) && owners >= 1 && Number.isInteger(n) && n >= 0 && block >= 1))
    throw new TrainerError('ERR_BAD_CONFIG', `cannot cut ${n} values over ${owners} owners`);
  const blocks = Math.ceil(n / block);
  const edge = (h: number) => Math.min(n, Math.floor((h * blocks) / owners) * block);
  return Array.from({ length: owners }, (_, h) => ({ offset: edge(h), length: edge(h + 1) - edge(h) }));
}

/** Most slices an owner's part is cut into (its chunks: streamed, so the phases of a step overlap). */
export const MAX_CHUNKS = 16;
/** Most slices a mesh has (a slice index on the wire is below it). */
export const MAX_SLICES = MAX_WORKERS * MAX_CHUNKS;

/**
 * How many slices each of `owners` owners gets: about 16 kB on the wire each (`blocksPerChunk` int8 blocks
 * of 4,096 values: 1 in float32, 2 in bf16/fp16, 4 in int8), so each travels, is summed, applied and passed
 * on while the next is still coming; at most MAX_CHUNKS.
 */
export function chunksPerOwner(n: number, owners: number, blocksPerChunk = 1, block = GRAD_BLOCK): number {
  return Math.max(1, Math.min(MAX_CHUNKS, Math.floor(Math.ceil(n / block) / owners / blocksPerChunk)));
}

/** Which owner holds slice `s` of a mesh with `chunks` slices per owner (owners hold contiguous runs). */
export function ownerOfSlice(s: number, chunks: number): number {
  return Math.floor(s / chunks);
}

/** The order slices go out in: chunk by chunk across owners, so every owner's first chunk is summed first. */
export function streamOrder(owners: number, chunks: number): number[] {
  return Array.from({ length: owners * chunks }, (_, i) => (i % owners) * chunks + Math.floor(i / owners));
}

/**
 * What an owner gathers for its slice in one step: each node's part, joined along the tree over the
 * batch's groups as parts arrive. A node that comes again (its task was reassigned after the first holder
 * sent) is dropped: by the invariance contract its values are the same bits.
 */
export class SliceJoin {
  private readonly tree: TreeSum<Float32Array>;
  private readonly seen = new Set<string>();

  constructor(
    readonly groups: number,
    readonly slice: Slice,
  ) {
    this.tree = new TreeSum(groups, addInto);
  }

  /** Whether the part was new (false: a repeat of a node already here). */
  add(lo: number, hi: number, part: Float32Array): boolean {
    if (part.length !== this.slice.length)
      throw new TrainerError(
        'ERR_SHAPE_MISMATCH',
        `a part of [${lo}, ${hi}) has ${part.length} values, the slice ${this.slice.length}`,
      );
    const key = `${lo}:${hi}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.tree.add(lo, hi, part);
    return true;
  }

  get complete(): boolean {
    return this.tree.complete;
  }

  /** The slice summed over every group of the batch. */
  sum(): Float32Array {
    return this.tree.root();
  }
}

/**
 * The coordinator's reduction of a sharded step: each task's counts joined along the tree (as
 * GroupReducer joins them) and each owner's joined slice put in place; finish() as GroupReducer's.
 */
export class SlicedReducer implements Reducer {
  /** The tasks' counts joined as GroupReducer joins its nodes (their gradients are empty: the owners hold them). */
  private readonly tally: TreeSum<NodeSums>;
  private readonly seenTasks = new Set<number>();
  private readonly seenSlices = new Set<number>();

  constructor(
    private readonly out: Float32Array,
    private readonly nodes: readonly TreeNode[],
    private readonly slices: readonly Slice[],
    private readonly samples: number,
    private readonly groupSize: number,
    private readonly trainable = out.length,
  ) {
    // an empty slice has no owner's message to wait for
    slices.forEach((s, i) => s.length === 0 && this.seenSlices.add(i));
    this.tally = new TreeSum(groupCount(samples, groupSize), joinSums);
  }

  /** A task's counts; its gradient went to the owners, so it comes with none. */
  add(r: GroupResult): void {
    const node = this.nodes[r.shardId];
    if (!node || this.seenTasks.has(r.shardId))
      throw new TrainerError('ERR_DUPLICATE_GRADIENT', `shard ${r.shardId} is not expected in this reduction`);
    if (r.grad.length !== 0)
      throw new TrainerError('ERR_SHAPE_MISMATCH', `shard ${r.shardId} came with a gradient; its owners hold it`);
    this.seenTasks.add(r.shardId);
    const { count, lossSum, correct, grad } = r;
    this.tally.add(node.lo, node.hi, { count, lossSum, correct, meanSqSum: r.meanSqSum ?? 0, grad });
  }

  /**
   * Owner `index`'s slice, summed over the whole batch: its mean goes in place at once (the same float32
   * division as GroupReducer's), so the slice can be applied before the others arrive. Returns the slice.
   */
  addSlice(index: number, sum: Float32Array): Slice {
    const s = this.slices[index];
    if (!s || this.seenSlices.has(index))
      throw new TrainerError('ERR_DUPLICATE_GRADIENT', `slice ${index} is not expected in this reduction`);
    if (sum.length !== s.length)
      throw new TrainerError('ERR_SHAPE_MISMATCH', `slice ${index} has ${sum.length} values, expected ${s.length}`);
    this.seenSlices.add(index);
    const inv = 1 / this.samples;
    for (let i = 0; i < sum.length; i++) this.out[s.offset + i] = Math.fround(sum[i]! * inv);
    return s;
  }

  /** The slices not in yet, by owner index. */
  missingSlices(): number[] {
    return this.slices.flatMap((_, i) => (this.seenSlices.has(i) ? [] : [i]));
  }

  get slicesComplete(): boolean {
    return this.seenSlices.size === this.slices.length;
  }

  get complete(): boolean {
    return this.tally.complete && this.slicesComplete;
  }

  finish(): Reduced {
    const root = this.tally.root();
    if (root.count !== this.samples || this.seenSlices.size !== this.slices.length)
      throw new TrainerError(
        'ERR_NO_WORKERS',
        `the reduction holds ${root.count} of ${this.samples} samples, ${this.seenSlices.size} of ${this.slices.length} slices`,
      );
    const norms = meanInPlace(this.out, 1, this.trainable); // the means are in place: a pass for the norm
    return groupReduced(this.out, root, norms, this.samples, this.groupSize);
  }
}

/** A slice of a gradient in its wire format (compress.ts): its values, and for int8 its blocks' scales. */
export function sliceWire(g: WireGradient, s: Slice): WireGradient {
  const data = g.data.subarray(s.offset, s.offset + s.length);
  if (g.wire !== 'int8') return { wire: g.wire, data };
  const first = s.offset / GRAD_BLOCK;
  return { wire: 'int8', data, scales: g.scales!.subarray(first, first + Math.ceil(s.length / GRAD_BLOCK)) };
}
