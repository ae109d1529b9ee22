// acc + b * c on four float lanes: one fused multiply-add (f32x4.relaxed_madd) in the module built with
// relaxed SIMD (dist/kernels-fma.wasm, asconfig target "fma"), a multiply then an add in the baseline module
// (dist/kernels.wasm). Where the CPU has FMA, V8 emits vfmadd for relaxed_madd: one rounding instead of two,
// so results differ from the baseline in the last bits (and are the same run to run on one machine).

// @ts-ignore: decorator
@inline export function madd(acc: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(b, c, acc);
  return f32x4.add(acc, f32x4.mul(b, c));
}
