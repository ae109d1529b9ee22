// Conv2D input gradient as a register-blocked micro-kernel (4 positions x 8 entries).

import { madd } from './madd';

/**
 * Conv2D input gradient into a padded dxp [n,hp,wp,c] (zeroed here), from dy [n,oh,ow,co] and the
 * filter w [kh,kw,c,co]:  dxp[b, oy*sh+ki, ox*sw+kj, ci] += sum_o w[ki,kj,ci,o] * dy[b,oy,ox,o].
 * For a fixed ki the (kj, ci) entries of one position are kw*c contiguous floats of dxp, so a block of
 * 4 positions times 8 such entries is the same register-blocked micro-kernel as the filter gradient,
 * over wt [kh][co][kw*c] (w transposed into scratch here). No padded-dy convolution, so no wasted MACs.
 */
export function conv2dInputGrad(dy: usize, w: usize, wt: usize, dxp: usize, n: i32, hp: i32, wp: i32, c: i32,
  oh: i32, ow: i32, co: i32, kh: i32, kw: i32, sh: i32, sw: i32): void {
  const kwc = kw * c;
  for (let ki = 0; ki < kh; ki++) {
    for (let j = 0; j < kwc; j++) {
      for (let o = 0; o < co; o++) {
        store<f32>(wt + ((<usize>((ki * co + o) * kwc + j)) << 2), load<f32>(w + ((<usize>((ki * kwc + j) * co + o)) << 2)));
      }
    }
  }
  memory.fill(dxp, 0, (<usize>(n * hp * wp * c)) << 2);
  const positions = n * oh * ow;
  const rowBytes = (<usize>(wp * c)) << 2;
  const dyRow = (<usize>co) << 2;
  let p = 0;
  for (; p + 4 <= positions; p += 4) {
    const d0 = dxPos(dxp, p, oh, ow, hp, wp, c, sh, sw);
    const d1 = dxPos(dxp, p + 1, oh, ow, hp, wp, c, sh, sw);
    const d2 = dxPos(dxp, p + 2, oh, ow, hp, wp, c, sh, sw);
    const d3 = dxPos(dxp, p + 3, oh, ow, hp, wp, c, sh, sw);
    const g = dy + (<usize>p) * dyRow;
    for (let ki = 0; ki < kh; ki++) {
      const rowOff = (<usize>ki) * rowBytes;
      const wk = wt + ((<usize>(ki * co * kwc)) << 2);
      let j = 0;
      for (; j + 8 <= kwc; j += 8) {
        const jb = (<usize>j) << 2;
        inputGrad4x8(g, dyRow, wk + jb, (<usize>kwc) << 2, co, d0 + rowOff + jb, d1 + rowOff + jb, d2 + rowOff + jb, d3 + rowOff + jb);
      }
      for (; j < kwc; j++) {
        const jb = (<usize>j) << 2;
        inputGradScalar(g, wk + jb, kwc, co, d0 + rowOff + jb);
        inputGradScalar(g + dyRow, wk + jb, kwc, co, d1 + rowOff + jb);
        inputGradScalar(g + 2 * dyRow, wk + jb, kwc, co, d2 + rowOff + jb);
        inputGradScalar(g + 3 * dyRow, wk + jb, kwc, co, d3 + rowOff + jb);
      }
    }
  }
  for (; p < positions; p++) {
    const d0 = dxPos(dxp, p, oh, ow, hp, wp, c, sh, sw);
    const g = dy + (<usize>p) * dyRow;
    for (let ki = 0; ki < kh; ki++) {
      const wk = wt + ((<usize>(ki * co * kwc)) << 2);
      for (let j = 0; j < kwc; j++) inputGradScalar(g, wk + ((<usize>j) << 2), kwc, co, d0 + (<usize>ki) * rowBytes + ((<usize>j) << 2));
    }
  }
}

/** Byte address in dxp of the window origin (ki = kj = ci = 0) of flat output position p. */
@inline export function dxPos(dxp: usize, p: i32, oh: i32, ow: i32, hp: i32, wp: i32, c: i32, sh: i32, sw: i32): usize {
  const per = oh * ow;
  const b = p / per;
  const r = p - b * per;
  const oy = r / ow;
  const ox = r - oy * ow;
  return dxp + ((<usize>(((b * hp + oy * sh) * wp + ox * sw) * c)) << 2);
}

function inputGrad4x8(g: usize, dyRow: usize, w: usize, wStride: usize, co: i32, d0: usize, d1: usize, d2: usize, d3: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), e0 = f32x4.splat(0), e1 = f32x4.splat(0);
  const g1 = g + dyRow, g2 = g + 2 * dyRow, g3 = g + 3 * dyRow;
  for (let o = 0; o < co; o++) {
    const oo = (<usize>o) << 2;
    const w0 = v128.load(w), w1 = v128.load(w, 16);
    const y0 = v128.load32_splat(g + oo);
    a0 = madd(a0, y0, w0);
    a1 = madd(a1, y0, w1);
    const y1 = v128.load32_splat(g1 + oo);
    b0 = madd(b0, y1, w0);
    b1 = madd(b1, y1, w1);
    const y2 = v128.load32_splat(g2 + oo);
    c0 = madd(c0, y2, w0);
    c1 = madd(c1, y2, w1);
    const y3 = v128.load32_splat(g3 + oo);
    e0 = madd(e0, y3, w0);
    e1 = madd(e1, y3, w1);
    w += wStride;
  }
  // Sequential read-modify-writes: windows of neighbouring positions overlap when the stride is small.
  v128.store(d0, f32x4.add(v128.load(d0), a0)); v128.store(d0, f32x4.add(v128.load(d0, 16), a1), 16);
  v128.store(d1, f32x4.add(v128.load(d1), b0)); v128.store(d1, f32x4.add(v128.load(d1, 16), b1), 16);
  v128.store(d2, f32x4.add(v128.load(d2), c0)); v128.store(d2, f32x4.add(v128.load(d2, 16), c1), 16);
  v128.store(d3, f32x4.add(v128.load(d3), e0)); v128.store(d3, f32x4.add(v128.load(d3, 16), e1), 16);
}

@inline function inputGradScalar(g: usize, w: usize, kwc: i32, co: i32, d: usize): void {
  let acc: f32 = 0;
  for (let o = 0; o < co; o++) acc += load<f32>(g + ((<usize>o) << 2)) * load<f32>(w + ((<usize>(o * kwc)) << 2));
  store<f32>(d, load<f32>(d) + acc);
}
