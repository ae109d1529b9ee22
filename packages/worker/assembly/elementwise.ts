// Bias gradient (column sums) and ReLU gradient, one pass each.

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
