// The model zoo in TensorFlow.js ops over the flat parameter vector: forward pass, summed softmax
// cross-entropy, and one call that returns the shard's loss sum, correct count and gradient SUM.

import {
  buildManifest,
  isRunningStat,
  type Manifest,
  type ModelSpec,
  paramCount,
  TrainerError,
  trainableCount,
} from '@dtrain/common';
import * as tf from '@tensorflow/tfjs-core';
import { BN_EPSILON, type BnContext, bnLayer, type Moments } from './bn-layers.js';
import { convLayer } from './conv.js';

export interface ShardOutput {
  lossSum: number;
  correct: number;
  /** Sum of per-example gradients, flat in manifest order. */
  grad: Float32Array;
}

export interface EvalOutput {
  lossSum: number;
  correct: number;
}

interface WasmHeap {
  wasm?: { HEAPU8: Uint8Array };
  getMemoryOffset?: (dataId: object) => number;
}

/** Copy a float32 tensor into out at offset; on wasm straight from the heap (dataSync allocates a copy). */
function copyInto(t: tf.Tensor, out: Float32Array, offset: number): void {
  const b = tf.backend() as unknown as WasmHeap;
  if (t.dtype === 'float32' && b.wasm && b.getMemoryOffset) {
    out.set(new Float32Array(b.wasm.HEAPU8.buffer, b.getMemoryOffset(t.dataId), t.size), offset);
  } else {
    out.set(t.dataSync() as Float32Array, offset);
  }
}

export class Network {
  readonly manifest: Manifest;
  readonly paramCount: number;
  /** Values before the batch-norm running statistics (the rest of the flat vector). */
  readonly trainableCount: number;
  private params: tf.Tensor[] = [];
  private readonly trained: number;

  constructor(readonly spec: ModelSpec) {
    this.manifest = buildManifest(spec);
    this.paramCount = paramCount(this.manifest);
    this.trainableCount = trainableCount(this.manifest);
    this.trained = this.manifest.filter((p) => !isRunningStat(p.name)).length;
  }

  /** Replace the weights (disposes the previous tensors). */
  setWeights(flat: Float32Array): void {
    if (flat.length !== this.paramCount) {
      throw new TrainerError(
        'ERR_SHAPE_MISMATCH',
        `weights have ${flat.length} values, the model has ${this.paramCount}`,
      );
    }
    const next = this.manifest.map((p) => tf.tensor(flat.subarray(p.offset, p.offset + p.length), p.shape, 'float32'));
    this.disposeParams();
    this.params = next;
  }

  disposeParams(): void {
    for (const t of this.params) t.dispose();
    this.params = [];
  }

  /**
   * Logits [n, classes] for input x [n, H, W, C], from the trained parameters `params`; batch norm uses the
   * pass's own moments (pushed to `moments`) in training, else the running statistics.
   */
  forward(x: tf.Tensor4D, params: readonly tf.Tensor[], moments?: Moments[]): tf.Tensor2D {
    let h: tf.Tensor = x;
    let [p, q] = [0, this.trained];
    const missing = (): never => {
      throw new TrainerError('ERR_SHAPE_MISMATCH', 'model has fewer parameters than its layers need');
    };
    const next = (): tf.Tensor => params[p++] ?? missing();
    const ctx: BnContext = {
      next,
      nextStat: () => this.params[q++] ?? missing(),
      epsilon: this.spec.bnEpsilon ?? BN_EPSILON,
      ...(moments ? { moments } : {}),
    };
    for (const layer of this.spec.layers) {
      const bn = bnLayer(h, layer, ctx);
      if (bn) {
        h = bn;
        continue;
      }
      switch (layer.type) {
        case 'conv2d': {
          const w = next() as tf.Tensor4D;
          const b = next();
          h = convLayer(h as tf.Tensor4D, w, b, layer.stride, layer.padding, layer.activation);
          break;
        }
        case 'maxpool':
          h = tf.maxPool(h as tf.Tensor4D, layer.size, layer.stride, 'valid');
          break;
        case 'flatten':
          h = tf.reshape(h, [h.shape[0]!, -1]);
          break;
        case 'dense': {
          const w = next() as tf.Tensor2D;
          const b = next();
          h = tf.add(tf.matMul(h as tf.Tensor2D, w), b);
          if (layer.activation === 'relu') h = tf.relu(h);
          break;
        }
      }
    }
    return h as tf.Tensor2D;
  }

  private lossSum(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
    const oneHot = tf.oneHot(labels, this.spec.classes);
    return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)))) as tf.Scalar;
  }

  private input(x: Float32Array, y: Int32Array, n: number): { xs: tf.Tensor4D; ys: tf.Tensor1D } {
    const [h, w, c] = this.spec.inputShape;
    return {
      xs: tf.tensor4d(x.subarray(0, n * h * w * c), [n, h, w, c]),
      ys: tf.tensor1d(y.subarray(0, n), 'int32'),
    };
  }

  private countCorrect(logits: tf.Tensor2D, ys: tf.Tensor1D): tf.Scalar {
    return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), ys), 'int32'));
  }

  /**
   * Loss sum, correct count and gradient sum over n examples; in the running statistics' slots, n times
   * each batch norm's mean and unbiased variance over the n examples (summed and divided by the batch like
   * the gradient, they become the average moments the coordinator's running statistics follow).
   */
  computeShard(x: Float32Array, y: Int32Array, n: number, out: Float32Array): ShardOutput {
    if (this.params.length === 0) throw new TrainerError('ERR_SHAPE_MISMATCH', 'weights were never set');
    const moments: Moments[] = [];
    const { lossT, correctT, grads } = tf.tidy(() => {
      const { xs, ys } = this.input(x, y, n);
      let logits: tf.Tensor2D | null = null;
      const { value, grads } = tf.valueAndGrads((...ps: tf.Tensor[]) => {
        const out = tf.keep(this.forward(xs, ps, moments));
        logits = out;
        return this.lossSum(out, ys);
      })(this.params.slice(0, this.trained));
      const kept = logits as tf.Tensor2D | null;
      if (!kept) throw new TrainerError('ERR_SHAPE_MISMATCH', 'forward pass produced no logits');
      const correctT = this.countCorrect(kept, ys);
      kept.dispose();
      return { lossT: value, correctT, grads };
    });
    try {
      grads.forEach((g, i) => copyInto(g, out, this.manifest[i]!.offset));
      this.writeMoments(moments, n, out);
      return { lossSum: lossT.dataSync()[0]!, correct: correctT.dataSync()[0]!, grad: out };
    } finally {
      tf.dispose([lossT, correctT, ...grads, ...moments.flatMap((m) => [m.mean, m.variance])]);
    }
  }

  private writeMoments(moments: readonly Moments[], n: number, out: Float32Array): void {
    moments.forEach((m, j) => {
      const [meanSlot, varSlot] = [this.manifest[this.trained + 2 * j]!, this.manifest[this.trained + 2 * j + 1]!];
      const [mean, variance] = [m.mean.dataSync(), m.variance.dataSync()];
      const unbias = m.count > 1 ? m.count / (m.count - 1) : 1;
      for (let c = 0; c < meanSlot.length; c++) {
        out[meanSlot.offset + c] = n * mean[c]!;
        out[varSlot.offset + c] = n * variance[c]! * unbias;
      }
    });
  }

  /** Class probabilities [n x classes] (softmax of the logits) for n inputs. */
  probabilities(x: Float32Array, n: number): Float32Array {
    if (this.params.length === 0) throw new TrainerError('ERR_SHAPE_MISMATCH', 'weights were never set');
    const [h, w, c] = this.spec.inputShape;
    const p = tf.tidy(() =>
      tf.softmax(
        this.forward(tf.tensor4d(x.subarray(0, n * h * w * c), [n, h, w, c]), this.params.slice(0, this.trained)),
      ),
    );
    try {
      return Float32Array.from(p.dataSync() as Float32Array);
    } finally {
      p.dispose();
    }
  }

  evaluate(x: Float32Array, y: Int32Array, n: number): EvalOutput {
    const [lossT, correctT] = tf.tidy(() => {
      const { xs, ys } = this.input(x, y, n);
      const logits = this.forward(xs, this.params.slice(0, this.trained));
      return [this.lossSum(logits, ys), this.countCorrect(logits, ys)];
    });
    try {
      return { lossSum: lossT.dataSync()[0]!, correct: correctT.dataSync()[0]! };
    } finally {
      tf.dispose([lossT, correctT]);
    }
  }
}
