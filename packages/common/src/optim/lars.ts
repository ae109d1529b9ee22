// LARS (You, Gitman and Ginsburg 2017, Algorithm 1), per tensor l with global rate γ_t (the schedule's lr):
//   λ_l = η ||w_l|| / (||∇_l|| + β ||w_l||)     (1 where either norm is 0)
//   v_l = μ v_l + γ_t λ_l (∇_l + β w_l);  w_l -= v_l
// β is the weight decay and η the trust coefficient. As in the paper, the rate is inside the velocity.
// Tensors excluded (1-D, when exclude1d) take a plain momentum step: v = μ v + γ_t ∇, no decay, λ = 1.

import { type Segment, segmentNorm } from './segments.js';

export interface LarsParams {
  momentum: number;
  weightDecay: number;
  trust: number;
  exclude1d: boolean;
}

export function larsStep(
  p: LarsParams,
  lr: number,
  theta: Float32Array,
  grad: Float32Array,
  velocity: Float32Array,
  segments: readonly Segment[],
): void {
  for (const s of segments) {
    const plain = p.exclude1d && s.vector;
    const wd = plain ? 0 : p.weightDecay;
    const [wn, gn] = plain ? [0, 0] : [segmentNorm(theta, s), segmentNorm(grad, s)];
    const local = !plain && wn > 0 && gn > 0 ? (p.trust * wn) / (gn + wd * wn) : 1;
    const rate = lr * local;
    for (let i = s.offset; i < s.offset + s.length; i++) {
      const v = p.momentum * velocity[i]! + rate * (grad[i]! + wd * theta[i]!);
      velocity[i] = v;
      theta[i] = theta[i]! - v;
    }
  }
}
