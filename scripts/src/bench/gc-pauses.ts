// Garbage-collection pauses of this process, from perf_hooks' 'gc' entries, summed over a window of
// performance.now() times: what `bench exchange` and `bench floor` print beside a CPU figure.

import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';

export class GcPauses {
  private readonly pauses: { at: number; ms: number; major: boolean }[] = [];
  private readonly observer = new PerformanceObserver((list) => this.keep(list.getEntries()));

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  stop(): void {
    this.keep(this.observer.takeRecords());
    this.observer.disconnect();
  }

  /**
   * ms of the pauses that began in [from, to); with `majorOnly`, of full (mark-compact) collections only.
   * Entries reach the observer asynchronously: those still buffered are taken first, so a pause at the
   * window's end counts.
   */
  between(from: number, to: number, majorOnly = false): number {
    this.keep(this.observer.takeRecords());
    let ms = 0;
    for (const p of this.pauses) if (p.at >= from && p.at < to && (p.major || !majorOnly)) ms += p.ms;
    return ms;
  }

  private keep(entries: PerformanceEntry[]): void {
    for (const e of entries) {
      const kind = (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      this.pauses.push({ at: e.startTime, ms: e.duration, major: kind === constants.NODE_PERFORMANCE_GC_MAJOR });
    }
  }
}
