// An assignment's gradient, computed straight into a pooled frame buffer: the fp32 frame finished in
// place, or compressed (bf16, fp16, int8, with the compressor's error feedback; a checkpointed step's
// whole, the residual drained into it); a non-finite loss or
// gradient becomes a `diverged` message instead (the coordinator refuses non-finite numbers).

import {
  type AssignMsg,
  allFinite,
  computeError,
  type DivergedMsg,
  encodeGradient,
  finishTensorFrame,
  floatPayload,
  type GradientCompressor,
} from '@dtrain/common';
import type { WorkerTrainer } from './trainer.js';

export function gradientFrame(
  trainer: WorkerTrainer,
  compressor: GradientCompressor,
  buffer: Uint8Array,
  msg: AssignMsg,
  fetchMs: number,
): Uint8Array | DivergedMsg {
  const { grad, ...fields } = trainer.computeGradient(msg, floatPayload(buffer, trainer.net.paramCount));
  const what = !Number.isFinite(fields.lossSum) ? 'loss' : !allFinite(grad) ? 'gradient' : null;
  if (what) return { kind: 'diverged', step: msg.step, version: msg.version, shardId: msg.shardId, what };
  if (compressor.wire === 'fp32' || msg.flush) {
    compressor.drain(grad); // a checkpointed step: the residual goes with it, whole
    return finishTensorFrame(buffer, { ...fields, fetchMs }, grad.length);
  }
  return encodeGradient({ ...fields, fetchMs }, compressor.compress(grad));
}

/** Run a task's compute: what it throws is reported as ERR_COMPUTE (unless it has a code of its own). */
export function computing<T>(work: () => T): T {
  try {
    return work();
  } catch (e) {
    throw computeError(e);
  }
}
