// Early stopping by patience (--patience N): a run has stalled once N epochs of training passed without a
// new best validation loss or validation accuracy. Meant for grids, where runs that collapse to chance
// accuracy (a learning rate too high) would otherwise train to their epoch cap. Either metric improving
// resets the count, so a run whose loss rises while its accuracy still climbs (overfitting) goes on.

export class PlateauWatch {
  private bestLoss = Infinity;
  private bestAccuracy = -Infinity;
  private lastBestEpoch: number;

  /** `patienceEpochs` 0: never stalls. Counting starts at `startEpoch` (a resumed run counts from its resume). */
  constructor(
    private readonly patienceEpochs: number,
    startEpoch: number,
  ) {
    this.lastBestEpoch = startEpoch;
  }

  /** Record one validation evaluation; true once the run has stalled. */
  observe(epoch: number, loss: number, accuracy: number): boolean {
    if (loss < this.bestLoss || accuracy > this.bestAccuracy) this.lastBestEpoch = epoch;
    this.bestLoss = Math.min(this.bestLoss, loss);
    this.bestAccuracy = Math.max(this.bestAccuracy, accuracy);
    return this.stalled(epoch);
  }

  stalled(epoch: number): boolean {
    return this.patienceEpochs > 0 && epoch - this.lastBestEpoch >= this.patienceEpochs;
  }

  /** Why the run ended, for its summary and log. */
  reason(): string {
    return (
      `no new best validation loss or accuracy in ${this.patienceEpochs} epochs (--patience ${this.patienceEpochs}; ` +
      `best accuracy ${(this.bestAccuracy * 100).toFixed(2)}%, loss ${this.bestLoss.toFixed(4)})`
    );
  }
}
