// Conv2D forward with bias and ReLU fused in.

import { madd } from './madd';

import { dxPos } from './conv-input-grad';

/**
 * Conv2D forward with the bias and optional ReLU fused in: y[p, o] = act(b[o] + sum_{ki,j} xp[pos(p) + ki
 * row + j] * w[ki, j, o]) over a padded input xp [n,hp,wp,c] and w [kh, kw*c, co]. Blocks of 4 positions
 * times 8 output channels; one pass writes y (a separate bias add and ReLU would read and write it twice more).
 */
export function conv2dForward(xp: usize, w: usize, bias: usize, y: usize, n: i32, hp: i32, wp: i32, c: i32,
  oh: i32, ow: i32, co: i32, kh: i32, kw: i32, sh: i32, sw: i32, relu: i32): void {
  const kwc = kw * c;
  const positions = n * oh * ow;
  const rowBytes = (<usize>(wp * c)) << 2;
  const yRow = (<usize>co) << 2;
  let p = 0;
  for (; p + 4 <= positions; p += 4) {
    const x0 = dxPos(xp, p, oh, ow, hp, wp, c, sh, sw);
    const x1 = dxPos(xp, p + 1, oh, ow, hp, wp, c, sh, sw);
    const x2 = dxPos(xp, p + 2, oh, ow, hp, wp, c, sh, sw);
    const x3 = dxPos(xp, p + 3, oh, ow, hp, wp, c, sh, sw);
    const out = y + (<usize>p) * yRow;
    let o = 0;
    for (; o + 8 <= co; o += 8) {
      const at = (<usize>o) << 2;
      forward4x8(x0, x1, x2, x3, w + at, bias + at, out + at, yRow, co, kh, kwc, rowBytes, relu);
    }
    for (; o < co; o++) {
      for (let k = 0; k < 4; k++) forwardScalar(dxPos(xp, p + k, oh, ow, hp, wp, c, sh, sw), w, bias, out + (<usize>k) * yRow, co, kh, kwc, rowBytes, o, relu);
    }
  }
  for (; p < positions; p++) {
    const x0 = dxPos(xp, p, oh, ow, hp, wp, c, sh, sw);
    for (let o = 0; o < co; o++) forwardScalar(x0, w, bias, y + (<usize>p) * yRow, co, kh, kwc, rowBytes, o, relu);
  }
}

export function forward4x8(x0: usize, x1: usize, x2: usize, x3: usize, w: usize, bias: usize, out: usize, yRow: usize,
  co: i32, kh: i32, kwc: i32, rowBytes: usize, relu: i32): void {
  const b0 = v128.load(bias), b1 = v128.load(bias, 16);
  let a0 = b0, a1 = b1, c0 = b0, c1 = b1, d0 = b0, d1 = b1, e0 = b0, e1 = b1;
  const wStep = (<usize>co) << 2;
  let pw = w;
  for (let ki = 0; ki < kh; ki++) {
    const r = (<usize>ki) * rowBytes;
    const end = (<usize>kwc) << 2;
    for (let jj: usize = 0; jj < end; jj += 4) {
      const w0 = v128.load(pw), w1 = v128.load(pw, 16);
      const v0 = v128.load32_splat(x0 + r + jj);
      a0 = madd(a0, v0, w0);
      a1 = madd(a1, v0, w1);
      const v1 = v128.load32_splat(x1 + r + jj);
      c0 = madd(c0, v1, w0);
      c1 = madd(c1, v1, w1);
      const v2 = v128.load32_splat(x2 + r + jj);
      d0 = madd(d0, v2, w0);
      d1 = madd(d1, v2, w1);
      const v3 = v128.load32_splat(x3 + r + jj);
      e0 = madd(e0, v3, w0);
      e1 = madd(e1, v3, w1);
      pw += wStep;
    }
  }
  if (relu) {
    const z = f32x4.splat(0);
    a0 = f32x4.max(a0, z); a1 = f32x4.max(a1, z); c0 = f32x4.max(c0, z); c1 = f32x4.max(c1, z);
    d0 = f32x4.max(d0, z); d1 = f32x4.max(d1, z); e0 = f32x4.max(e0, z); e1 = f32x4.max(e1, z);
  }
  v128.store(out, a0); v128.store(out, a1, 16);
  v128.store(out + yRow, c0); v128.store(out + yRow, c1, 16);
  v128.store(out + 2 * yRow, d0); v128.store(out + 2 * yRow, d1, 16);
  v128.store(out + 3 * yRow, e0); v128.store(out + 3 * yRow, e1, 16);
}

function forwardScalar(x0: usize, w: usize, bias: usize, out: usize, co: i32, kh: i32, kwc: i32, rowBytes: usize, o: i32, relu: i32): void {
  let acc = load<f32>(bias + ((<usize>o) << 2));
  for (let ki = 0; ki < kh; ki++) {
    for (let j = 0; j < kwc; j++) {
      acc += load<f32>(x0 + (<usize>ki) * rowBytes + ((<usize>j) << 2)) * load<f32>(w + ((<usize>((ki * kwc + j) * co + o)) << 2));
    }
  }
  store<f32>(out + ((<usize>o) << 2), relu && acc < 0 ? 0 : acc);
}
