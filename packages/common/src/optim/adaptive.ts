// The adaptive optimizers, on flat Float32Arrays with moment buffers m and v (zero at the start); t is the
// 1-based number of updates so far, for the bias corrections.
//   adam  (torch.optim.Adam):  g += wd*θ; m = β1 m + (1-β1) g; v = β2 v + (1-β2) g²;
//                              θ -= lr/(1-β1^t) * m / (sqrt(v)/sqrt(1-β2^t) + eps)
//   adamw (torch.optim.AdamW): θ *= 1 - lr*wd first (decoupled), then adam without the L2 term
//   lamb  (You et al. 2019, Algorithm 2, with its bias correction): per tensor, r = m̂ / (sqrt(v̂) + eps),
//          u = r + λθ, θ -= lr * (||θ|| / ||u||) * u; the ratio is 1 where either norm is 0
// Tensors excluded (1-D, when exclude1d) get no decay, and in lamb no trust ratio (a plain Adam step).

import type { Segment } from './segments.js';

export interface AdaptiveParams {
  kind: 'adam' | 'adamw' | 'lamb';
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  exclude1d: boolean;
}

export interface Moments {
  m: Float32Array;
  v: Float32Array;
}

export function adaptiveStep(
  p: AdaptiveParams,
  t: number,
  lr: number,
  theta: Float32Array,
  grad: Float32Array,
  mo: Moments,
  segments: readonly Segment[],
): void {
  const bc1 = 1 - p.beta1 ** t;
  const bc2Sqrt = Math.sqrt(1 - p.beta2 ** t);
  for (const s of segments) {
    const excluded = p.exclude1d && s.vector;
    const wd = excluded ? 0 : p.weightDecay;
    if (p.kind === 'lamb') lambSegment(p, { bc1, bc2Sqrt, lr, wd, adapt: !excluded }, s, theta, grad, mo);
    else adamSegment(p, { bc1, bc2Sqrt, lr, wd }, s, theta, grad, mo);
  }
}

interface StepScalars {
  bc1: number;
  bc2Sqrt: number;
  lr: number;
  wd: number;
}

function adamSegment(
  p: AdaptiveParams,
  k: StepScalars,
  s: Segment,
  theta: Float32Array,
  grad: Float32Array,
  mo: Moments,
) {
  const [b1, b2, step] = [p.beta1, p.beta2, k.lr / k.bc1];
  const [l2, shrink] = p.kind === 'adamw' ? [0, 1 - k.lr * k.wd] : [k.wd, 1];
  for (let i = s.offset; i < s.offset + s.length; i++) {
    const w = theta[i]! * shrink;
    const g = grad[i]! + l2 * theta[i]!;
    mo.m[i] = b1 * mo.m[i]! + (1 - b1) * g;
    mo.v[i] = b2 * mo.v[i]! + (1 - b2) * g * g;
    theta[i] = w - (step * mo.m[i]!) / (Math.sqrt(mo.v[i]!) / k.bc2Sqrt + p.eps); // the stored (float32) moments
  }
}

/** Two passes over the tensor: moments and the norms of θ and u, then the update scaled by the trust ratio. */
function lambSegment(
  p: AdaptiveParams,
  k: StepScalars & { adapt: boolean },
  s: Segment,
  theta: Float32Array,
  grad: Float32Array,
  mo: Moments,
) {
  const [b1, b2, end] = [p.beta1, p.beta2, s.offset + s.length];
  const u = (i: number): number => mo.m[i]! / k.bc1 / (Math.sqrt(mo.v[i]!) / k.bc2Sqrt + p.eps) + k.wd * theta[i]!;
  let [wSq, uSq] = [0, 0];
  for (let i = s.offset; i < end; i++) {
    const g = grad[i]!;
    mo.m[i] = b1 * mo.m[i]! + (1 - b1) * g;
    mo.v[i] = b2 * mo.v[i]! + (1 - b2) * g * g;
    const ui = u(i);
    wSq += theta[i]! * theta[i]!;
    uSq += ui * ui;
  }
  const trust = k.adapt && wSq > 0 && uSq > 0 ? Math.sqrt(wSq) / Math.sqrt(uSq) : 1;
  for (let i = s.offset; i < end; i++) theta[i] = theta[i]! - k.lr * trust * u(i);
}
