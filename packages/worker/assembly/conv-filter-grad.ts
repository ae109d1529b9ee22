// Conv2D filter gradient as a register-blocked GEMM micro-kernel with implicit im2col.

import { madd } from './madd';

// Positions per tile of the filter gradient: the tile's dy rows stay in L1 while every filter row
// block streams over them.
const TILE_POSITIONS: i32 = 96;

/**
 * Conv2D filter gradient over a padded input xp [n,hp,wp,c] and dy [n,oh,ow,co]:
 *   dw[ki,kj,ci,o] = sum_{b,oy,ox} xp[b, oy*sh+ki, ox*sw+kj, ci] * dy[b,oy,ox,o]
 * For a fixed ki, the (kj, ci) rows of dw read kw*c contiguous floats of xp, so blocks of 4 such rows
 * times 8 output channels form a register-blocked GEMM micro-kernel with implicit im2col.
 */
export function conv2dFilterGrad(xp: usize, dy: usize, dw: usize, n: i32, hp: i32, wp: i32, c: i32,
  oh: i32, ow: i32, co: i32, kh: i32, kw: i32, sh: i32, sw: i32): void {
  const kwc = kw * c;
  memory.fill(dw, 0, (<usize>(kh * kwc * co)) << 2);
  const rows = n * oh;
  const tileRows = max(1, (TILE_POSITIONS + ow - 1) / ow);
  for (let q0 = 0; q0 < rows; q0 += tileRows) {
    const q1 = min(rows, q0 + tileRows);
    for (let ki = 0; ki < kh; ki++) {
      let j = 0;
      for (; j + 4 <= kwc; j += 4) {
        const r = ki * kwc + j;
        let o = 0;
        for (; o + 8 <= co; o += 8) block4x8(xp, dy, dw + ((<usize>(r * co + o)) << 2), q0, q1, oh, ow, hp, wp, c, co, ki, j, o, sh, sw);
        for (; o < co; o++) blockScalar(xp, dy, dw, 4, r, q0, q1, oh, ow, hp, wp, c, co, ki, j, o, sh, sw);
      }
      for (; j < kwc; j++) {
        const r = ki * kwc + j;
        let o = 0;
        for (; o + 8 <= co; o += 8) block1x8(xp, dy, dw + ((<usize>(r * co + o)) << 2), q0, q1, oh, ow, hp, wp, c, co, ki, j, o, sh, sw);
        for (; o < co; o++) blockScalar(xp, dy, dw, 1, r, q0, q1, oh, ow, hp, wp, c, co, ki, j, o, sh, sw);
      }
    }
  }
}

@inline function xRow(xp: usize, q: i32, oh: i32, hp: i32, wp: i32, c: i32, ki: i32, j: i32, sh: i32): usize {
  const b = q / oh;
  const oy = q - b * oh;
  return xp + ((<usize>(((b * hp + oy * sh + ki) * wp) * c + j)) << 2);
}

function block4x8(xp: usize, dy: usize, out: usize, q0: i32, q1: i32, oh: i32, ow: i32, hp: i32, wp: i32,
  c: i32, co: i32, ki: i32, j: i32, o: i32, sh: i32, sw: i32): void {
  const rowStride = (<usize>co) << 2;
  let a0 = v128.load(out), a1 = v128.load(out, 16);
  let b0 = v128.load(out + rowStride), b1 = v128.load(out + rowStride, 16);
  let c0 = v128.load(out + 2 * rowStride), c1 = v128.load(out + 2 * rowStride, 16);
  let d0 = v128.load(out + 3 * rowStride), d1 = v128.load(out + 3 * rowStride, 16);
  const xStep = (<usize>(sw * c)) << 2;
  for (let q = q0; q < q1; q++) {
    let px = xRow(xp, q, oh, hp, wp, c, ki, j, sh);
    let pd = dy + ((<usize>(q * ow * co + o)) << 2);
    for (let ox = 0; ox < ow; ox++) {
      const g0 = v128.load(pd), g1 = v128.load(pd, 16);
      const x0 = v128.load32_splat(px);
      a0 = madd(a0, x0, g0);
      a1 = madd(a1, x0, g1);
      const x1 = v128.load32_splat(px, 4);
      b0 = madd(b0, x1, g0);
      b1 = madd(b1, x1, g1);
      const x2 = v128.load32_splat(px, 8);
      c0 = madd(c0, x2, g0);
      c1 = madd(c1, x2, g1);
      const x3 = v128.load32_splat(px, 12);
      d0 = madd(d0, x3, g0);
      d1 = madd(d1, x3, g1);
      px += xStep;
      pd += rowStride;
    }
  }
  v128.store(out, a0); v128.store(out, a1, 16);
  v128.store(out + rowStride, b0); v128.store(out + rowStride, b1, 16);
  v128.store(out + 2 * rowStride, c0); v128.store(out + 2 * rowStride, c1, 16);
  v128.store(out + 3 * rowStride, d0); v128.store(out + 3 * rowStride, d1, 16);
}

/** One filter row (a kw*c remainder, e.g. RGB inputs) times 8 output channels. */
function block1x8(xp: usize, dy: usize, out: usize, q0: i32, q1: i32, oh: i32, ow: i32, hp: i32, wp: i32,
  c: i32, co: i32, ki: i32, j: i32, o: i32, sh: i32, sw: i32): void {
  const rowStride = (<usize>co) << 2;
  let a0 = v128.load(out), a1 = v128.load(out, 16);
  const xStep = (<usize>(sw * c)) << 2;
  for (let q = q0; q < q1; q++) {
    let px = xRow(xp, q, oh, hp, wp, c, ki, j, sh);
    let pd = dy + ((<usize>(q * ow * co + o)) << 2);
    for (let ox = 0; ox < ow; ox++) {
      const x0 = v128.load32_splat(px);
      a0 = madd(a0, x0, v128.load(pd));
      a1 = madd(a1, x0, v128.load(pd, 16));
      px += xStep;
      pd += rowStride;
    }
  }
  v128.store(out, a0); v128.store(out, a1, 16);
}

/** Scalar fallback for `count` filter rows starting at row r (and column o): remainders only. */
function blockScalar(xp: usize, dy: usize, dw: usize, count: i32, r: i32, q0: i32, q1: i32, oh: i32, ow: i32,
  hp: i32, wp: i32, c: i32, co: i32, ki: i32, j: i32, o: i32, sh: i32, sw: i32): void {
  for (let k = 0; k < count; k++) {
    let acc: f32 = 0;
    for (let q = q0; q < q1; q++) {
      const px = xRow(xp, q, oh, hp, wp, c, ki, j + k, sh);
      const pd = dy + ((<usize>(q * ow * co + o)) << 2);
      for (let ox = 0; ox < ow; ox++) {
        acc += load<f32>(px + ((<usize>(ox * sw * c)) << 2)) * load<f32>(pd + ((<usize>(ox * co)) << 2));
      }
    }
    const p = dw + ((<usize>((r + k) * co + o)) << 2);
    store<f32>(p, load<f32>(p) + acc);
  }
}
