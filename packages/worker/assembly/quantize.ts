// Weight deltas as int8 blocks (common/src/weight-delta.ts), in SIMD: the same numbers as the JavaScript
// there, bit for bit. Every operation rounds to float32 once and in the same order (sub, abs, max, div,
// reciprocal, mul, round half to even, clamp; convert, mul, add); no relaxed SIMD, so the FMA build of
// this module computes these exactly as the baseline does.

const BLOCK: i32 = 4096;

/** The largest lane of a float32x4 (a NaN lane gives NaN). */
function maxLanes(v: v128): f32 {
  const a = f32x4.extract_lane(v, 0);
  const b = f32x4.extract_lane(v, 1);
  const c = f32x4.extract_lane(v, 2);
  const d = f32x4.extract_lane(v, 3);
  return Mathf.max(Mathf.max(a, b), Mathf.max(c, d));
}

/** The q values `part` (0..3) of 16 int8 values as float32x4 (exact: |q| <= 127). */
// @ts-ignore: decorator
@inline
function quarter(bytes: v128, part: i32): v128 {
  const half = part < 2 ? i16x8.extend_low_i8x16_s(bytes) : i16x8.extend_high_i8x16_s(bytes);
  return f32x4.convert_i32x4_s(part % 2 == 0 ? i32x4.extend_low_i16x8_s(half) : i32x4.extend_high_i16x8_s(half));
}

/**
 * The differences `a - b` (sign -1) or sums `a + b` (sign 1) of one block into `out`, float32; their largest
 * magnitude (NaN if one is NaN, as wasm's max gives it). The vector loop takes pseudo-maxima (one instruction
 * each on x86, where wasm's max is several) and adds every value times 0 beside them, which is NaN exactly
 * when a value is not finite; only then is the block's maximum taken again the exact way.
 */
function combineBlock(a: usize, b: usize, out: usize, len: i32, sign: f32): f32 {
  const vs = f32x4.splat(sign);
  const zero = f32x4.splat(0);
  let vmax = zero;
  let bad = zero;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    const v = f32x4.add(v128.load(a + (<usize>i << 2)), f32x4.mul(v128.load(b + (<usize>i << 2)), vs));
    v128.store(out + (<usize>i << 2), v);
    vmax = f32x4.pmax(vmax, f32x4.abs(v));
    bad = f32x4.add(bad, f32x4.mul(v, zero));
  }
  let max = v128.any_true(f32x4.ne(bad, bad)) ? maxMagnitude(out, i) : maxLanes(vmax);
  for (; i < len; i++) {
    const v = load<f32>(a + (<usize>i << 2)) + load<f32>(b + (<usize>i << 2)) * sign;
    store<f32>(out + (<usize>i << 2), v);
    max = Mathf.max(max, Mathf.abs(v));
  }
  return max;
}

/** The largest |x| of `len` float32 values, NaN if one is NaN (wasm's max). */
function maxMagnitude(p: usize, len: i32): f32 {
  let max: f32 = 0;
  for (let i = 0; i < len; i++) max = Mathf.max(max, Mathf.abs(load<f32>(p + (<usize>i << 2))));
  return max;
}

/** p += q * scale over one block: each product and each sum rounded to float32. */
function addScaledBlock(p: usize, q: usize, len: i32, scale: f32): void {
  const vs = f32x4.splat(scale);
  let i = 0;
  for (; i + 16 <= len; i += 16) {
    const bytes = v128.load(q + <usize>i);
    const at = p + (<usize>i << 2);
    v128.store(at, f32x4.add(v128.load(at), f32x4.mul(quarter(bytes, 0), vs)));
    v128.store(at, f32x4.add(v128.load(at, 16), f32x4.mul(quarter(bytes, 1), vs)), 16);
    v128.store(at, f32x4.add(v128.load(at, 32), f32x4.mul(quarter(bytes, 2), vs)), 32);
    v128.store(at, f32x4.add(v128.load(at, 48), f32x4.mul(quarter(bytes, 3), vs)), 48);
  }
  for (; i < len; i++) {
    const at = p + (<usize>i << 2);
    store<f32>(at, load<f32>(at) + <f32>load<i8>(q + <usize>i) * scale);
  }
}

/**
 * Quantize one block's differences (at `d`, float32) with `inv` into q[0..len) as int8: each times `inv`,
 * rounded half to even, clamped to +-127. The vector loop clamps first (pseudo-min and -max: exact, as no
 * product is NaN where `inv` is finite), then rounds by adding 1.5 * 2^23 (the float32 sum rounds to an integer,
 * ties to even, held in the low bits) and subtracting its bits: clamping to integers commutes with rounding.
 * An infinite `inv` (a subnormal scale: 0 * inv is NaN) takes the scalar loop, which rounds then clamps.
 */
function quantizeBlock(d: usize, q: usize, len: i32, inv: f32): void {
  const vinv = f32x4.splat(inv);
  const hi = f32x4.splat(127);
  const lo = f32x4.splat(-127);
  const magic = f32x4.splat(12582912);
  const bias = i32x4.splat(0x4b400000);
  let i = 0;
  if (isFinite<f32>(inv)) {
    for (; i + 16 <= len; i += 16) {
      const p = d + (<usize>i << 2);
      const a = i32x4.sub(f32x4.add(f32x4.pmax(lo, f32x4.pmin(hi, f32x4.mul(v128.load(p), vinv))), magic), bias);
      const b = i32x4.sub(f32x4.add(f32x4.pmax(lo, f32x4.pmin(hi, f32x4.mul(v128.load(p, 16), vinv))), magic), bias);
      const c = i32x4.sub(f32x4.add(f32x4.pmax(lo, f32x4.pmin(hi, f32x4.mul(v128.load(p, 32), vinv))), magic), bias);
      const e = i32x4.sub(f32x4.add(f32x4.pmax(lo, f32x4.pmin(hi, f32x4.mul(v128.load(p, 48), vinv))), magic), bias);
      v128.store(q + <usize>i, i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, e)));
    }
  }
  for (; i < len; i++) {
    const x: f32 = nearest<f32>(load<f32>(d + (<usize>i << 2)) * inv);
    store<i8>(q + <usize>i, <i8>(<i32>Mathf.max(<f32>-127, Mathf.min(<f32>127, x))));
  }
}

/**
 * q, scales = Q(w - view): per block of 4096 the float32 differences (in `scratch`, 16 KiB), their largest
 * magnitude / 127 as the scale, each difference times 1/scale rounded half to even and clamped to +-127.
 * Returns 0 when a difference is not finite (nothing useful is written), else 1.
 */
export function weightDeltaInt8(w: usize, view: usize, n: i32, q: usize, scales: usize, scratch: usize): i32 {
  for (let start = 0, b = 0; start < n; start += BLOCK, b++) {
    const len = min(BLOCK, n - start);
    const max = combineBlock(w + (<usize>start << 2), view + (<usize>start << 2), scratch, len, -1);
    if (!isFinite<f32>(max)) return 0;
    const scale: f32 = max / 127;
    store<f32>(scales + (<usize>b << 2), scale);
    if (scale == 0) {
      memory.fill(q + <usize>start, 0, <usize>len);
      continue;
    }
    quantizeBlock(scratch, q + <usize>start, len, <f32>1 / scale);
  }
  return 1;
}

/** view += q * scale per block: each product and each sum rounded to float32. */
export function applyDeltaInt8(view: usize, q: usize, scales: usize, n: i32): void {
  for (let start = 0, b = 0; start < n; start += BLOCK, b++) {
    const len = min(BLOCK, n - start);
    const scale = load<f32>(scales + (<usize>b << 2));
    if (scale == 0) continue;
    addScaledBlock(view + (<usize>start << 2), q + <usize>start, len, scale);
  }
}

/**
 * A gradient as int8 blocks with error feedback (common's GradientCompressor): v = grad + resid (float32,
 * kept in resid), scale = max |v| / 127 per block, q = v * (1/scale) rounded half to even and clamped, and
 * resid = v - q * scale. A block whose scale is 0 (or not finite) sends zeros and keeps v in resid.
 */
export function compressGradInt8(grad: usize, resid: usize, n: i32, q: usize, scales: usize): void {
  for (let start = 0, b = 0; start < n; start += BLOCK, b++) {
    const len = min(BLOCK, n - start);
    const pe = resid + (<usize>start << 2);
    const max = combineBlock(grad + (<usize>start << 2), pe, pe, len, 1);
    const scale: f32 = max / 127;
    store<f32>(scales + (<usize>b << 2), scale);
    if (!(scale > 0) || !isFinite<f32>(scale)) {
      memory.fill(q + <usize>start, 0, <usize>len);
      continue;
    }
    quantizeBlock(pe, q + <usize>start, len, <f32>1 / scale);
    addScaledBlock(pe, q + <usize>start, len, -scale); // resid = v - q * scale: -(q * scale) is q * -scale exactly
  }
}

/** out = q * scale per block (float32 products: common's decompress, bit for bit). */
export function expandInt8(q: usize, scales: usize, n: i32, out: usize): void {
  for (let start = 0, b = 0; start < n; start += BLOCK, b++) {
    const len = min(BLOCK, n - start);
    const scale = load<f32>(scales + (<usize>b << 2));
    const vs = f32x4.splat(scale);
    const po = out + (<usize>start << 2);
    const pq = q + <usize>start;
    let i = 0;
    for (; i + 16 <= len; i += 16) {
      const bytes = v128.load(pq + <usize>i);
      const p = po + (<usize>i << 2);
      v128.store(p, f32x4.mul(quarter(bytes, 0), vs));
      v128.store(p, f32x4.mul(quarter(bytes, 1), vs), 16);
      v128.store(p, f32x4.mul(quarter(bytes, 2), vs), 32);
      v128.store(p, f32x4.mul(quarter(bytes, 3), vs), 48);
    }
    for (; i < len; i++) store<f32>(po + (<usize>i << 2), <f32>load<i8>(pq + <usize>i) * scale);
  }
}
