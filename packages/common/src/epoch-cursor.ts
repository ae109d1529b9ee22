// Where a run is in its data: the step, the epoch, the batches of the epoch already consumed and the
// samples seen, and each epoch's sample order (the (seed, epoch) permutation). Pure: the same position
// gives the same next batch on any machine, which is what makes a resumed run continue bit-identically.

import { epochOrder, planBatch } from './sharding.js';

/** The part of a run's state that says where it is (a checkpoint's TrainState has these fields). */
export interface DataPosition {
  step: number;
  epoch: number;
  /** Batches of `epoch` already consumed. */
  position: number;
  samplesSeen: number;
}

export class EpochCursor {
  private order: { epoch: number; indices: Uint32Array } = { epoch: -1, indices: new Uint32Array(0) };

  /** `at` is advanced in place (it is the run's state, saved in its checkpoints). */
  constructor(
    private readonly at: DataPosition,
    private readonly data: { trainSize: number; seed: number; batchSize: number; stepsPerEpoch: number },
  ) {}

  /** The global batch of the next step: sample indices in the epoch's order. */
  nextBatch(): Uint32Array {
    if (this.order.epoch !== this.at.epoch) {
      this.order = { epoch: this.at.epoch, indices: epochOrder(this.data.trainSize, this.data.seed, this.at.epoch) };
    }
    return planBatch(this.order.indices, this.at.position, this.data.batchSize);
  }

  /** One step done with `samples` samples applied. */
  advance(samples: number): void {
    this.at.step++;
    this.at.samplesSeen += samples;
    this.at.position++;
    if (this.at.position >= this.data.stepsPerEpoch) {
      this.at.epoch++;
      this.at.position = 0;
    }
  }

  /** The epoch as a fraction (3.25: a quarter into the fourth epoch). */
  get epochFloat(): number {
    return this.at.epoch + this.at.position / this.data.stepsPerEpoch;
  }

  /** The next step closes an epoch. */
  get nextClosesEpoch(): boolean {
    return this.at.position + 1 >= this.data.stepsPerEpoch;
  }

  /** The last step closed an epoch. */
  get atEpochStart(): boolean {
    return this.at.position === 0;
  }
}
