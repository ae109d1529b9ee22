// Clipping by global norm, as torch.nn.utils.clip_grad_norm_: the gradient is scaled by
// max / (norm + 1e-6) when that factor is below 1.

/** Σ grad[i]², in float64 and index order (what ShardReducer.finish also gives as meanNormSq). */
export function sumOfSquares(grad: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < grad.length; i++) sum += grad[i]! * grad[i]!;
  return sum;
}

/**
 * Scale `grad` in place down to global L2 norm `max` (when larger); returns the norm before clipping.
 * `normSq`, when the caller already has it (the reducer's meanNormSq), saves a pass over the gradient.
 */
export function clipGlobalNorm(grad: Float32Array, max: number, normSq = sumOfSquares(grad)): number {
  const norm = Math.sqrt(normSq);
  const coef = max / (norm + 1e-6);
  if (coef < 1) for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * coef;
  return norm;
}
