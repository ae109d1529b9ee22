// Batch norm in training over x [m, c] (NHWC with m = n h w): each channel's sums in float64, row by row in
// order (the same order, and so the same bits, as bn-layers.ts' JavaScript loops), two channels per f64x2;
// the elementwise parts in float32 with tfjs' operation order and one rounding per operation (a multiply
// then an add, never fused, in both builds), so the kernels give bitwise what the tfjs ops gave.
// `acc` is caller-provided scratch of 2c float64 values (the module allocates nothing).

// @ts-ignore: decorator
@inline function pair(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** acc[0..c) = per-channel sums of x [m, c]; with `centre` (f64 [c]), of (x - centre)^2 instead. */
function channelSums(x: usize, m: i32, c: i32, acc: usize, centre: usize, squares: bool): void {
  memory.fill(acc, 0, (<usize>c) << 3);
  const rowBytes = (<usize>c) << 2;
  for (let i = 0; i < m; i++) {
    const row = x + (<usize>i) * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const a = acc + ((<usize>ch) << 3);
      let v = pair(row + ((<usize>ch) << 2));
      if (squares) {
        const d = f64x2.sub(v, v128.load(centre + ((<usize>ch) << 3)));
        v = f64x2.mul(d, d);
      }
      v128.store(a, f64x2.add(v128.load(a), v));
    }
    for (; ch < c; ch++) {
      const a = acc + ((<usize>ch) << 3);
      let v = <f64>load<f32>(row + ((<usize>ch) << 2));
      if (squares) {
        const d = v - load<f64>(centre + ((<usize>ch) << 3));
        v = d * d;
      }
      store<f64>(a, load<f64>(a) + v);
    }
  }
}

/**
 * Training forward: per channel the mean and biased variance (float64, stored as float32 in mean and
 * variance), invStd = 1 / sqrt(variance + eps), xhat = (x - mean) invStd, y = xhat gamma + beta.
 * acc: 2c float64 of scratch.
 */
export function batchNormTrain(
  x: usize,
  gamma: usize,
  beta: usize,
  y: usize,
  xhat: usize,
  mean: usize,
  variance: usize,
  invStd: usize,
  m: i32,
  c: i32,
  eps: f32,
  acc: usize,
): void {
  const sums = acc;
  const centre = acc + ((<usize>c) << 3);
  channelSums(x, m, c, sums, 0, false);
  const count = <f64>m;
  for (let ch = 0; ch < c; ch++) store<f64>(centre + ((<usize>ch) << 3), load<f64>(sums + ((<usize>ch) << 3)) / count);
  channelSums(x, m, c, sums, centre, true);
  for (let ch = 0; ch < c; ch++) {
    const o = (<usize>ch) << 2;
    const mu = <f32>load<f64>(centre + ((<usize>ch) << 3));
    const v = <f32>(load<f64>(sums + ((<usize>ch) << 3)) / count);
    store<f32>(mean + o, mu);
    store<f32>(variance + o, v);
    store<f32>(invStd + o, <f32>1 / Mathf.sqrt(v + eps));
  }
  normalize(x, mean, invStd, gamma, beta, y, xhat, m, c);
}

function normalize(x: usize, mean: usize, invStd: usize, gamma: usize, beta: usize, y: usize, xhat: usize, m: i32, c: i32): void {
  const rowBytes = (<usize>c) << 2;
  for (let i = 0; i < m; i++) {
    const off = (<usize>i) * rowBytes;
    let ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const o = (<usize>ch) << 2;
      const h = f32x4.mul(f32x4.sub(v128.load(x + off + o), v128.load(mean + o)), v128.load(invStd + o));
      v128.store(xhat + off + o, h);
      v128.store(y + off + o, f32x4.add(f32x4.mul(h, v128.load(gamma + o)), v128.load(beta + o)));
    }
    for (; ch < c; ch++) {
      const o = (<usize>ch) << 2;
      const h = (load<f32>(x + off + o) - load<f32>(mean + o)) * load<f32>(invStd + o);
      store<f32>(xhat + off + o, h);
      store<f32>(y + off + o, h * load<f32>(gamma + o) + load<f32>(beta + o));
    }
  }
}

/**
 * Training backward: dbeta = sum dy, dgamma = sum dy xhat (float64 sums, stored as float32), then
 * dx = ((dy - dbeta / m) - xhat (dgamma / m)) (invStd gamma). acc: 2c float64 of scratch.
 */
export function batchNormGrad(
  dy: usize,
  xhat: usize,
  invStd: usize,
  gamma: usize,
  dx: usize,
  dGamma: usize,
  dBeta: usize,
  m: i32,
  c: i32,
  acc: usize,
): void {
  const sumDy = acc;
  const sumDyX = acc + ((<usize>c) << 3);
  memory.fill(acc, 0, (<usize>c) << 4);
  const rowBytes = (<usize>c) << 2;
  for (let i = 0; i < m; i++) {
    const off = (<usize>i) * rowBytes;
    let ch = 0;
    for (; ch + 2 <= c; ch += 2) {
      const o = (<usize>ch) << 2;
      const d = pair(dy + off + o);
      const a = sumDy + ((<usize>ch) << 3);
      const b = sumDyX + ((<usize>ch) << 3);
      v128.store(a, f64x2.add(v128.load(a), d));
      v128.store(b, f64x2.add(v128.load(b), f64x2.mul(d, pair(xhat + off + o))));
    }
    for (; ch < c; ch++) {
      const o = (<usize>ch) << 2;
      const d = <f64>load<f32>(dy + off + o);
      const a = sumDy + ((<usize>ch) << 3);
      const b = sumDyX + ((<usize>ch) << 3);
      store<f64>(a, load<f64>(a) + d);
      store<f64>(b, load<f64>(b) + d * <f64>load<f32>(xhat + off + o));
    }
  }
  for (let ch = 0; ch < c; ch++) {
    store<f32>(dBeta + ((<usize>ch) << 2), <f32>load<f64>(sumDy + ((<usize>ch) << 3)));
    store<f32>(dGamma + ((<usize>ch) << 2), <f32>load<f64>(sumDyX + ((<usize>ch) << 3)));
  }
  inputGrad(dy, xhat, invStd, gamma, dGamma, dBeta, dx, m, c, acc);
}

/** dx from the two sums; the per-channel factors (f32, as tfjs rounds them) go to acc as float32. */
function inputGrad(dy: usize, xhat: usize, invStd: usize, gamma: usize, dGamma: usize, dBeta: usize, dx: usize, m: i32, c: i32, acc: usize): void {
  const count = <f32>m;
  const cb = (<usize>c) << 2;
  const fa = acc;
  const fb = acc + cb;
  const fs = acc + 2 * cb;
  for (let ch = 0; ch < c; ch++) {
    const o = (<usize>ch) << 2;
    store<f32>(fa + o, load<f32>(dBeta + o) / count);
    store<f32>(fb + o, load<f32>(dGamma + o) / count);
    store<f32>(fs + o, load<f32>(invStd + o) * load<f32>(gamma + o));
  }
  const rowBytes = (<usize>c) << 2;
  for (let i = 0; i < m; i++) {
    const off = (<usize>i) * rowBytes;
    let ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const o = (<usize>ch) << 2;
      const centred = f32x4.sub(f32x4.sub(v128.load(dy + off + o), v128.load(fa + o)), f32x4.mul(v128.load(xhat + off + o), v128.load(fb + o)));
      v128.store(dx + off + o, f32x4.mul(centred, v128.load(fs + o)));
    }
    for (; ch < c; ch++) {
      const o = (<usize>ch) << 2;
      const centred = load<f32>(dy + off + o) - load<f32>(fa + o) - load<f32>(xhat + off + o) * load<f32>(fb + o);
      store<f32>(dx + off + o, centred * load<f32>(fs + o));
    }
  }
}
