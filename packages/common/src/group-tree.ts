// The canonical summation tree that makes a run's bits independent of how its batch was cut.
//
// A global batch of B samples is read as n = ceil(B / G) groups of G consecutive samples (the last one
// may be shorter); each group's gradient is computed on its own, so it is the same float32 vector
// whichever process computes it. The groups are then added along one fixed binary tree over [0, n): a
// range [lo, hi) of two or more groups splits where its left part is the largest power of two below its
// size. A worker is given whole nodes of that tree (`treeCover`), sums its groups inside each node in
// the tree's order (`TreeStack`), and whoever gathers nodes joins siblings the same way (`TreeSum`):
// every cut, relay and reassignment adds the same numbers in the same grouping, so the sum is bitwise
// the one a single process computing all n groups would produce.

import { TrainerError } from './errors.js';

/** Groups of `size` consecutive samples in `samples` samples (the last may be shorter). */
export function groupCount(samples: number, size: number): number {
  return Math.ceil(samples / size);
}

/** Where the tree splits [lo, hi) (hi - lo >= 2): lo plus the largest power of two below the size. */
export function treeSplit(lo: number, hi: number): number {
  let half = 1;
  while (half * 2 < hi - lo) half *= 2;
  return lo + half;
}

/** The nodes of the tree over [0, n) that exactly cover [lo, hi), left to right. */
export function treeCover(n: number, lo: number, hi: number): [number, number][] {
  if (!(0 <= lo && lo < hi && hi <= n))
    throw new TrainerError('ERR_BAD_CONFIG', `[${lo}, ${hi}) is not within [0, ${n})`);
  const out: [number, number][] = [];
  const visit = (a: number, b: number): void => {
    if (b <= lo || a >= hi) return;
    if (lo <= a && b <= hi) {
      out.push([a, b]);
      return;
    }
    const mid = treeSplit(a, b);
    visit(a, mid);
    visit(mid, b);
  };
  visit(0, n);
  return out;
}

/** The parent of node [lo, hi) in the tree over [0, n), and whether the node is its left child. */
function parentOf(n: number, lo: number, hi: number): { lo: number; hi: number; left: boolean } {
  let [a, b] = [0, n];
  for (;;) {
    if (b - a < 2) break;
    const mid = treeSplit(a, b);
    if (a === lo && mid === hi) return { lo: a, hi: b, left: true };
    if (mid === lo && b === hi) return { lo: a, hi: b, left: false };
    if (hi <= mid) b = mid;
    else if (lo >= mid) a = mid;
    else break;
  }
  throw new TrainerError('ERR_BAD_CONFIG', `[${lo}, ${hi}) is not a node of the summation tree over ${n} groups`);
}

/** Joins the left and the right value of a node (the result may reuse the left one). */
export type Combine<V> = (left: V, right: V) => V;

/**
 * Nodes of the tree over [0, n) gathered in any order: a node whose sibling is already here is joined
 * with it at once (so most of the adding happens while other nodes are still being computed).
 */
export class TreeSum<V> {
  private readonly waiting = new Map<string, V>();
  private rootValue: V | undefined;

  constructor(
    readonly n: number,
    private readonly combine: Combine<V>,
  ) {}

  add(lo: number, hi: number, value: V): void {
    let [a, b, v] = [lo, hi, value];
    while (!(a === 0 && b === this.n)) {
      const p = parentOf(this.n, a, b);
      const sibling = p.left ? `${b}:${p.hi}` : `${p.lo}:${a}`;
      const other = this.waiting.get(sibling);
      if (other === undefined) {
        if (this.waiting.has(`${a}:${b}`))
          throw new TrainerError('ERR_DUPLICATE_GRADIENT', `node [${a}, ${b}) came twice`);
        this.waiting.set(`${a}:${b}`, v);
        return;
      }
      this.waiting.delete(sibling);
      v = p.left ? this.combine(v, other) : this.combine(other, v);
      [a, b] = [p.lo, p.hi];
    }
    if (this.rootValue !== undefined) throw new TrainerError('ERR_DUPLICATE_GRADIENT', 'the whole tree came twice');
    this.rootValue = v;
  }

  get complete(): boolean {
    return this.rootValue !== undefined;
  }

  root(): V {
    if (this.rootValue === undefined) {
      throw new TrainerError(
        'ERR_NO_WORKERS',
        `the sum over ${this.n} groups is missing ${this.waiting.size ? 'nodes' : 'all nodes'}`,
      );
    }
    return this.rootValue;
  }
}

/**
 * The tree over m groups evaluated left to right with at most log2(m) + 1 values alive: equal sizes are
 * joined as they come (a binary counter), the rest right to left at the end; this is the same grouping as
 * `treeSplit`, and the result lands in the first value pushed.
 */
export class TreeStack<V> {
  private readonly stack: { v: V; size: number }[] = [];

  constructor(private readonly combine: Combine<V>) {}

  push(v: V): void {
    let top = { v, size: 1 };
    for (let below = this.stack.at(-1); below && below.size === top.size; below = this.stack.at(-1)) {
      this.stack.pop();
      top = { v: this.combine(below.v, top.v), size: below.size * 2 };
    }
    this.stack.push(top);
  }

  finish(): V {
    let top = this.stack.pop();
    if (!top) throw new TrainerError('ERR_NO_WORKERS', 'nothing to sum');
    for (let below = this.stack.pop(); below; below = this.stack.pop()) {
      top = { v: this.combine(below.v, top.v), size: below.size + top.size };
    }
    return top.v;
  }
}

/** Add `right` into `left` element by element in float32 (the one way gradients are joined). */
export function addInto(left: Float32Array, right: Float32Array): Float32Array {
  for (let i = 0; i < left.length; i++) left[i] = left[i]! + right[i]!;
  return left;
}
