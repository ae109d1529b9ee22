// SGD with momentum on flat Float32Arrays, PyTorch's definition (torch.optim.SGD), plus the Keras form.
//   pytorch: g += wd*θ; v = μ*v + (1-dampening)*g; d = nesterov ? g + μ*v : v; θ -= lr*d
//   ema:     the same with dampening = μ, i.e. v = β v + (1-β) g, θ -= η v (momentum-SGD literature)
//   keras:   g += wd*θ; v = μ*v - lr*g; θ += nesterov ? μ*v - lr*g : v   (tf.keras SGD(momentum=μ))
// v starts at zero. With dampening = 0 this equals PyTorch exactly (its first step sets v = g, which is
// μ*0 + g); with dampening > 0 PyTorch's first step differs: it sets v = g instead of (1-dampening)*g.

import { TrainerError } from '../errors.js';
import { effectiveDampening, type OptimizerConfig } from './config.js';

/**
 * One in-place update. `grad` is the batch-mean gradient; `velocity` is the momentum buffer (same length,
 * zero at the start). `grad` is left untouched.
 */
export function sgdStep(
  c: OptimizerConfig,
  lr: number,
  theta: Float32Array,
  grad: Float32Array,
  velocity: Float32Array,
): void {
  const n = theta.length;
  if (grad.length !== n || velocity.length !== n) {
    throw new TrainerError(
      'ERR_SHAPE_MISMATCH',
      `optimizer lengths differ: θ ${n}, g ${grad.length}, v ${velocity.length}`,
    );
  }
  const mu = c.momentum;
  const wd = c.weightDecay;
  if (c.form === 'keras') return kerasStep(c, lr, theta, grad, velocity);
  if (mu === 0) {
    for (let i = 0; i < n; i++) theta[i] = theta[i]! - lr * (grad[i]! + wd * theta[i]!);
    return;
  }
  const keep = 1 - effectiveDampening(c);
  // one loop per variant: a branch inside costs a third more time (0.36 vs 0.26 ms for 122,570 weights)
  if (c.nesterov) {
    for (let i = 0; i < n; i++) {
      const g = grad[i]! + wd * theta[i]!;
      const v = mu * velocity[i]! + keep * g;
      velocity[i] = v;
      theta[i] = theta[i]! - lr * (g + mu * v);
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const g = grad[i]! + wd * theta[i]!;
    const v = mu * velocity[i]! + keep * g;
    velocity[i] = v;
    theta[i] = theta[i]! - lr * v;
  }
}

function kerasStep(c: OptimizerConfig, lr: number, theta: Float32Array, grad: Float32Array, velocity: Float32Array) {
  const [mu, wd] = [c.momentum, c.weightDecay];
  for (let i = 0; i < theta.length; i++) {
    const g = grad[i]! + wd * theta[i]!;
    const v = mu * velocity[i]! - lr * g;
    velocity[i] = v;
    theta[i] = theta[i]! + (c.nesterov ? mu * v - lr * g : v);
  }
}
