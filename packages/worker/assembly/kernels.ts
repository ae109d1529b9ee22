// SIMD kernels for tfjs' wasm backend (AssemblyScript, built by `asc`; see asconfig.json).
// The module imports the backend's WebAssembly.Memory: every pointer is a byte offset into tfjs-wasm's
// heap and every tensor is float32 NHWC. The module has no data segments and allocates nothing, so
// sharing that memory is safe (a test checks the built binary has no data section).

/** dx = 0, then dy of each pooling window added at the window's first maximum (tfjs' rule: `>`). */
export function maxPoolGrad(x: usize, dy: usize, dx: usize, n: i32, h: i32, w: i32, c: i32,
  oh: i32, ow: i32, fh: i32, fw: i32, sh: i32, sw: i32, padT: i32, padL: i32): void {
  memory.fill(dx, 0, (<usize>(n * h * w * c)) << 2);
  const c4 = c & ~3;
  const lanes = i32x4(0, 1, 2, 3);
  for (let b = 0; b < n; b++) {
    const img = b * h * w * c;
    for (let oy = 0; oy < oh; oy++) {
      const y0 = max(oy * sh - padT, 0);
      const y1 = min(oy * sh - padT + fh, h);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = max(ox * sw - padL, 0);
        const x1 = min(ox * sw - padL + fw, w);
        const dyRow = dy + ((<usize>(((b * oh + oy) * ow + ox) * c)) << 2);
        let ch = 0;
        for (; ch < c4; ch += 4) {
          let best = f32x4.splat(-Infinity);
          let at = i32x4.splat(-1);
          for (let y = y0; y < y1; y++) {
            for (let xx = x0; xx < x1; xx++) {
              const e = img + (y * w + xx) * c + ch;
              const v = v128.load(x + ((<usize>e) << 2));
              const gt = f32x4.gt(v, best);
              best = v128.bitselect(v, best, gt);
              at = v128.bitselect(i32x4.add(i32x4.splat(e), lanes), at, gt);
            }
          }
          const g = v128.load(dyRow + ((<usize>ch) << 2));
          scatterAdd(dx, i32x4.extract_lane(at, 0), f32x4.extract_lane(g, 0));
          scatterAdd(dx, i32x4.extract_lane(at, 1), f32x4.extract_lane(g, 1));
          scatterAdd(dx, i32x4.extract_lane(at, 2), f32x4.extract_lane(g, 2));
          scatterAdd(dx, i32x4.extract_lane(at, 3), f32x4.extract_lane(g, 3));
        }
        for (; ch < c; ch++) {
          let best: f32 = -Infinity;
          let at = -1;
          for (let y = y0; y < y1; y++) {
            for (let xx = x0; xx < x1; xx++) {
              const e = img + (y * w + xx) * c + ch;
              const v = load<f32>(x + ((<usize>e) << 2));
              if (v > best) {
                best = v;
                at = e;
              }
            }
          }
          scatterAdd(dx, at, load<f32>(dyRow + ((<usize>ch) << 2)));
        }
      }
    }
  }
}

@inline function scatterAdd(dx: usize, at: i32, g: f32): void {
  if (at < 0) return;
  const p = dx + ((<usize>at) << 2);
  store<f32>(p, load<f32>(p) + g);
}

/** Zero-padded copy of x [n,h,w,c] into out [n, h+padT+padB, w+padL+padR, c]. */
export function padCopy(x: usize, out: usize, n: i32, h: i32, w: i32, c: i32, padT: i32, padB: i32, padL: i32, padR: i32): void {
  const hp = h + padT + padB;
  const wp = w + padL + padR;
  memory.fill(out, 0, (<usize>(n * hp * wp * c)) << 2);
  const rowBytes = (<usize>(w * c)) << 2;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const src = x + ((<usize>((b * h + y) * w * c)) << 2);
      const dst = out + ((<usize>(((b * hp + y + padT) * wp + padL) * c)) << 2);
      memory.copy(dst, src, rowBytes);
    }
  }
}

/** Inverse of padCopy: the interior [n,h,w,c] of a padded xp [n,hp,wp,c]. */
export function cropCopy(xp: usize, out: usize, n: i32, h: i32, w: i32, c: i32, hp: i32, wp: i32, padT: i32, padL: i32): void {
  const rowBytes = (<usize>(w * c)) << 2;
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      const src = xp + ((<usize>(((b * hp + y + padT) * wp + padL) * c)) << 2);
      const dst = out + ((<usize>((b * h + y) * w * c)) << 2);
      memory.copy(dst, src, rowBytes);
    }
  }
}

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
@inline function dxPos(dxp: usize, p: i32, oh: i32, ow: i32, hp: i32, wp: i32, c: i32, sh: i32, sw: i32): usize {
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
    a0 = f32x4.add(a0, f32x4.mul(y0, w0));
    a1 = f32x4.add(a1, f32x4.mul(y0, w1));
    const y1 = v128.load32_splat(g1 + oo);
    b0 = f32x4.add(b0, f32x4.mul(y1, w0));
    b1 = f32x4.add(b1, f32x4.mul(y1, w1));
    const y2 = v128.load32_splat(g2 + oo);
    c0 = f32x4.add(c0, f32x4.mul(y2, w0));
    c1 = f32x4.add(c1, f32x4.mul(y2, w1));
    const y3 = v128.load32_splat(g3 + oo);
    e0 = f32x4.add(e0, f32x4.mul(y3, w0));
    e1 = f32x4.add(e1, f32x4.mul(y3, w1));
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
      a0 = f32x4.add(a0, f32x4.mul(x0, g0));
      a1 = f32x4.add(a1, f32x4.mul(x0, g1));
      const x1 = v128.load32_splat(px, 4);
      b0 = f32x4.add(b0, f32x4.mul(x1, g0));
      b1 = f32x4.add(b1, f32x4.mul(x1, g1));
      const x2 = v128.load32_splat(px, 8);
      c0 = f32x4.add(c0, f32x4.mul(x2, g0));
      c1 = f32x4.add(c1, f32x4.mul(x2, g1));
      const x3 = v128.load32_splat(px, 12);
      d0 = f32x4.add(d0, f32x4.mul(x3, g0));
      d1 = f32x4.add(d1, f32x4.mul(x3, g1));
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
      a0 = f32x4.add(a0, f32x4.mul(x0, v128.load(pd)));
      a1 = f32x4.add(a1, f32x4.mul(x0, v128.load(pd, 16)));
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

/** Bias gradient: out[ch] = sum over the m rows of dy [m, c]; 16 channels (one cache line) per pass. */
export function sumRows(dy: usize, out: usize, m: i32, c: i32): void {
  const rowBytes = (<usize>c) << 2;
  let ch = 0;
  for (; ch + 16 <= c; ch += 16) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let p = dy + ((<usize>ch) << 2);
    for (let i = 0; i < m; i++) {
      a0 = f32x4.add(a0, v128.load(p));
      a1 = f32x4.add(a1, v128.load(p, 16));
      a2 = f32x4.add(a2, v128.load(p, 32));
      a3 = f32x4.add(a3, v128.load(p, 48));
      p += rowBytes;
    }
    const q = out + ((<usize>ch) << 2);
    v128.store(q, a0); v128.store(q, a1, 16); v128.store(q, a2, 32); v128.store(q, a3, 48);
  }
  for (; ch < c; ch++) {
    let acc: f32 = 0;
    let p = dy + ((<usize>ch) << 2);
    for (let i = 0; i < m; i++) {
      acc += load<f32>(p);
      p += rowBytes;
    }
    store<f32>(out + ((<usize>ch) << 2), acc);
  }
}

/** ReLU gradient in one pass: dx = x > 0 ? dy : 0 (tfjs: dy * cast(step(x)), three kernels). */
export function reluGrad(dy: usize, x: usize, dx: usize, size: i32): void {
  const zero = f32x4.splat(0);
  const end4 = (<usize>(size & ~3)) << 2;
  let i: usize = 0;
  for (; i < end4; i += 16) {
    v128.store(dx + i, v128.and(v128.load(dy + i), f32x4.gt(v128.load(x + i), zero)));
  }
  const end = (<usize>size) << 2;
  for (; i < end; i += 4) store<f32>(dx + i, load<f32>(x + i) > 0 ? load<f32>(dy + i) : 0);
}

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
    for (; o + 8 <= co; o += 8) forward4x8(x0, x1, x2, x3, w + ((<usize>o) << 2), bias + ((<usize>o) << 2), out + ((<usize>o) << 2), yRow, co, kh, kwc, rowBytes, relu);
    for (; o < co; o++) {
      for (let k = 0; k < 4; k++) forwardScalar(dxPos(xp, p + k, oh, ow, hp, wp, c, sh, sw), w, bias, out + (<usize>k) * yRow, co, kh, kwc, rowBytes, o, relu);
    }
  }
  for (; p < positions; p++) {
    const x0 = dxPos(xp, p, oh, ow, hp, wp, c, sh, sw);
    for (let o = 0; o < co; o++) forwardScalar(x0, w, bias, y + (<usize>p) * yRow, co, kh, kwc, rowBytes, o, relu);
  }
}

function forward4x8(x0: usize, x1: usize, x2: usize, x3: usize, w: usize, bias: usize, out: usize, yRow: usize,
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
      a0 = f32x4.add(a0, f32x4.mul(v0, w0));
      a1 = f32x4.add(a1, f32x4.mul(v0, w1));
      const v1 = v128.load32_splat(x1 + r + jj);
      c0 = f32x4.add(c0, f32x4.mul(v1, w0));
      c1 = f32x4.add(c1, f32x4.mul(v1, w1));
      const v2 = v128.load32_splat(x2 + r + jj);
      d0 = f32x4.add(d0, f32x4.mul(v2, w0));
      d1 = f32x4.add(d1, f32x4.mul(v2, w1));
      const v3 = v128.load32_splat(x3 + r + jj);
      e0 = f32x4.add(e0, f32x4.mul(v3, w0));
      e1 = f32x4.add(e1, f32x4.mul(v3, w1));
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
