// When a run evaluates, checkpoints and ends early: every --eval-every steps (or at each epoch's end), and
// near a target of --eval-near-targets every EVAL_RESOLUTION of the steps so far,
// every --checkpoint-every steps or --checkpoint-seconds, at --stop-at-val-accuracy, and when --patience
// epochs pass without a new best validation loss or accuracy (plateau.ts). The loop asks; these answer.

import { EVAL_RESOLUTION, NEAR_TARGET, type TrainConfig } from '@dtrain/common';
import { PlateauWatch } from './plateau.js';

export class RunRules {
  private lastCheckpointAt: number;
  private lastValAccuracy: number | null = null;
  private lastEvalStep = 0;
  private readonly plateau: PlateauWatch;
  /** Set when --patience ended the run (status stalled): why. */
  stalledReason: string | null = null;

  /** `clock`: milliseconds from a monotonic clock; `startEpoch`: where this attempt starts (patience counts from there). */
  constructor(
    private readonly config: TrainConfig,
    private readonly clock: () => number,
    startEpoch: number,
  ) {
    this.lastCheckpointAt = clock();
    this.plateau = new PlateauWatch(config.patienceEpochs ?? 0, startEpoch);
  }

  /** After `step`: every --eval-every steps, else when the step closed an epoch; more often near a target. */
  evaluationDue(step: number, atEpochStart: boolean): boolean {
    const every = this.config.evalEvery;
    return (every > 0 ? step % every === 0 : atEpochStart) || this.nearTargetDue(step);
  }

  /** Within NEAR_TARGET below a target not yet reached: due once EVAL_RESOLUTION of the steps passed since the last. */
  private nearTargetDue(step: number): boolean {
    const acc = this.lastValAccuracy;
    const near = (this.config.evalNearTargets ?? []).some((t) => acc !== null && acc < t && t - acc <= NEAR_TARGET);
    return near && step - this.lastEvalStep >= Math.max(1, Math.floor(EVAL_RESOLUTION * step));
  }

  /**
   * Whether step `step` ends with a checkpoint: every --checkpoint-every steps, and once --checkpoint-seconds
   * passed since the last checkpoint. Asked as the step starts, so its gradients can travel whole (a flush).
   */
  checkpointDue(step: number): boolean {
    const { checkpointEvery, checkpointSeconds = 0 } = this.config;
    if (checkpointEvery > 0 && step % checkpointEvery === 0) return true;
    return checkpointSeconds > 0 && this.clock() - this.lastCheckpointAt >= checkpointSeconds * 1000;
  }

  checkpointed(): void {
    this.lastCheckpointAt = this.clock();
  }

  /** A validation result (the final evaluation does not count towards patience). */
  observeValidation(step: number, epoch: number, loss: number, accuracy: number, final: boolean): void {
    this.lastValAccuracy = accuracy;
    this.lastEvalStep = step;
    if (!final && this.plateau.observe(epoch, loss, accuracy)) this.stalledReason ??= this.plateau.reason();
  }

  /** With --stop-at-val-accuracy: the last validation accuracy reached it (the run ends, completed). */
  reachedStopAccuracy(): boolean {
    const target = this.config.stopAtValAccuracy ?? 0;
    return target > 0 && this.lastValAccuracy !== null && this.lastValAccuracy >= target;
  }
}
