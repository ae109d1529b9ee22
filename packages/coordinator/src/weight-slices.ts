// A version of the weights put together from its slices (sharded summation): float32 values, or a
// weight delta's (bf16 values, or int8 values and their block scales; slices start at block edges), into
// the whole message a relay handles as if the coordinator had sent it whole.

import { GRAD_BLOCK, type Slice, type WeightsDeltaMsg, type WeightsMsg } from '@dtrain/common';

type Whole = WeightsMsg | WeightsDeltaMsg;

export class SliceAssembly {
  private cur: { msg: Whole; have: Set<number> } | null = null;

  constructor(private readonly params: number) {}

  /** A slice of a version (an older one than the one being put together is dropped); the whole once all are in. */
  add(m: Whole, layout: readonly Slice[]): Whole | null {
    const s = m.slice === undefined ? undefined : layout[m.slice];
    if (!s || m.data.length !== s.length) return null;
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
