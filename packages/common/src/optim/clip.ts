// Clipping by global norm, as torch.nn.utils.clip_grad_norm_: the gradient is scaled by
// max / (norm + 1e-6) when that factor is below 1.

/** Scale `grad` in place down to global L2 norm `max` (when larger); returns the norm before clipping. */
export function clipGlobalNorm(grad: Float32Array, max: number): number {
  let sum = 0;
  for (let i = 0; i < grad.length; i++) sum += grad[i]! * grad[i]!;
  const norm = Math.sqrt(sum);
  const coef = max / (norm + 1e-6);
  if (coef < 1) for (let i = 0; i < grad.length; i++) grad[i] = grad[i]! * coef;
  return norm;
}
