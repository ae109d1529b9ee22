// A version of the weights put together from its slices (sharded summation): float32 values, or a
// weight delta's (bf16 values, or int8 values and their block scales; slices start at block edges), into
// the whole message a relay handles as if the coordinator had sent it whole.

import { GRAD_BLOCK, type Slice, TrainerError, type WeightsDeltaMsg, type WeightsMsg } from '@dtrain/common';

type Whole = WeightsMsg | WeightsDeltaMsg;

export class SliceAssembly {
  private cur: { msg: Whole; have: Set<number> } | null = null;

  constructor(private readonly params: number) {}

  /**
   * A slice of a version (an older one than the one being put together is dropped); the whole once all are in.
   * Throws ERR_BAD_FRAME for a slice the layout does not have or whose values (or int8 scales) do not fill it.
   */
  add(m: Whole, layout: readonly Slice[]): Whole | null {
    const s = checkSlice(m, layout);
    if (this.cur && m.version < this.cur.msg.version) return null;
    if (this.cur?.msg.version !== m.version || this.cur.msg.kind !== m.kind)
      this.cur = { msg: this.empty(m), have: new Set() };
    const { msg, have } = this.cur;
    msg.data.set(m.data as never, s.offset);
    if (m.kind === 'weightsDelta' && msg.kind === 'weightsDelta' && m.scales && msg.scales)
      msg.scales.set(m.scales, s.offset / GRAD_BLOCK);
    have.add(m.slice!);
    if (have.size < layout.filter((x) => x.length > 0).length) return null;
    this.cur = null;
    return msg;
  }

  /** The version being put together and the slices (of `layout`) it still lacks; null when none is. */
  missing(layout: readonly Slice[]): { version: number; slices: number[] } | null {
    if (!this.cur) return null;
    const { msg, have } = this.cur;
    const slices = layout.flatMap((x, j) => (x.length > 0 && !have.has(j) ? [j] : []));
    return { version: msg.version, slices };
  }

  /** A whole version arrived another way: a partial one at or below it is moot. */
  drop(version: number): void {
    if (this.cur && this.cur.msg.version <= version) this.cur = null;
  }

  private empty(m: Whole): Whole {
    const n = this.params;
    if (m.kind === 'weights') return { kind: 'weights', version: m.version, data: new Float32Array(n) };
    const { slice: _s, data, scales, ...head } = m;
    const whole = data instanceof Int8Array ? new Int8Array(n) : new Uint16Array(n);
    return { ...head, data: whole, ...(scales ? { scales: new Float32Array(Math.ceil(n / GRAD_BLOCK)) } : {}) };
  }
}

/** The layout's slice that `m` claims to be, once its values (and int8 scales) fill exactly that slice. */
export function checkSlice(m: Whole, layout: readonly Slice[]): Slice {
  const s = m.slice === undefined ? undefined : layout[m.slice];
  const what = `weights slice ${m.slice} of version ${m.version}`;
  if (!s) throw new TrainerError('ERR_BAD_FRAME', `${what}: the mesh has ${layout.length} slices`);
  if (m.data.length !== s.length)
    throw new TrainerError('ERR_BAD_FRAME', `${what} has ${m.data.length} values; the slice has ${s.length}`);
  const blocks = Math.ceil(s.length / GRAD_BLOCK);
  if (m.kind === 'weightsDelta' && m.wire === 'int8' && m.scales?.length !== blocks)
    throw new TrainerError(
      'ERR_BAD_FRAME',
      `${what} has ${m.scales?.length ?? 0} int8 scales; the slice has ${blocks} blocks`,
    );
  return s;
}
