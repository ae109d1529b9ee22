// The run's progress display: a live bar on a terminal (cli-progress), periodic lines otherwise, and
// the derived numbers before step 1 (per-worker batch, steps per epoch, bytes per step).

import { dirname } from 'node:path';
import { type Derived, describeOptimizer, type TrainConfig } from '@dtrain/common';
import type { Coordinator, EvalRecord, RunSummary } from '@dtrain/coordinator';
import cliProgress from 'cli-progress';

const fmtBytes = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`);

export function describeRun(c: TrainConfig, d: Derived): string[] {
  return [
    `model ${c.model}: ${d.paramCount.toLocaleString('en-US')} parameters; dataset ${c.dataset.name}: ${d.trainSamples} train samples`,
    `global batch ${c.batchSize} = ${c.workers} workers x ${Number.isInteger(d.perWorkerBatch) ? d.perWorkerBatch : d.perWorkerBatch.toFixed(1)}; ` +
      `${d.stepsPerEpoch} steps/epoch; ${d.totalSteps} steps in total`,
    `optimizer: ${describeOptimizer(c.optimizer)}; lr ${c.lr} -> peak ${d.peakLr.toPrecision(4)} ` +
      `(${c.scaling} scaling), schedule ${c.schedule}, warmup ${c.warmupSteps} steps`,
    `exchange: ${fmtBytes(d.bytesPerBroadcast)} per gradient or broadcast, ${fmtBytes(d.bytesPerStep)} per step`,
  ];
}

export interface Reporter {
  log(line: string): void;
  done(): void;
}

export interface Status {
  step: number;
  total: number;
  /** Seconds left, or null while unknown. */
  etaSeconds: number | null;
  epoch: number;
  /** Means over the current epoch so far (as Keras shows them). */
  loss: number | null;
  accuracy: number | null;
  imagesPerSecond: number;
  workers: number;
  coordMs: number | null;
}

const eta = (s: number | null): string => {
  if (s === null || !Number.isFinite(s)) return 'ETA -';
  const m = Math.floor(s / 60);
  return m >= 60
    ? `ETA ${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`
    : `ETA ${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
};

/**
 * One status line that fits `width` columns: the step, a bar and the percentage, the ETA, then the epoch
 * means, throughput, workers and coordinator time; the least important go first when space runs out,
 * then the bar shrinks (down to nothing).
 */
export function statusLine(s: Status, width: number): string {
  const pct = s.total > 0 ? (100 * s.step) / s.total : 0;
  const head = `step ${s.step}/${s.total}`;
  const tail = [
    `${pct.toFixed(0)}%`,
    eta(s.etaSeconds),
    s.loss === null ? '' : `loss ${s.loss.toFixed(4)}`,
    s.accuracy === null ? '' : `accuracy ${(s.accuracy * 100).toFixed(1)}%`,
    `epoch ${s.epoch.toFixed(2)}`,
    `${s.imagesPerSecond.toFixed(0)} img/s`,
    `${s.workers} workers`,
    s.coordMs === null ? '' : `coordinator ${s.coordMs.toFixed(1)} ms/step`,
  ].filter(Boolean);
  // whole parts only: the least important go first, then the bar (never a part cut in the middle)
  for (let keep = tail.length; keep >= 1; keep--) {
    const rest = tail.slice(0, keep).join(' | ');
    const room = width - head.length - rest.length - 4; // " [" + "] "
    if (room >= 10) {
      const bar = Math.min(30, room);
      const filled = Math.round((bar * pct) / 100);
      return `${head} [${'#'.repeat(filled)}${'-'.repeat(bar - filled)}] ${rest}`;
    }
    if (keep <= 2 && head.length + 1 + rest.length <= width) return `${head} ${rest}`;
  }
  return head.slice(0, width);
}

/** `line` as lines of at most `width` columns, broken at spaces (a word longer than that is cut), continuations indented. */
export function wrapLine(line: string, width: number): string[] {
  const out: string[] = [];
  let rest = line;
  const room = Math.max(10, width);
  while (rest.length > room) {
    const at = rest.lastIndexOf(' ', room);
    const cut = at > room / 3 ? at : room;
    out.push(rest.slice(0, cut).trimEnd());
    rest = `  ${rest.slice(cut).trimStart()}`;
  }
  out.push(rest);
  return out;
}

/** Running means of loss and accuracy over the current epoch, weighted by samples. */
class EpochMeans {
  private epoch = -1;
  private samples = 0;
  private lossSum = 0;
  private correct = 0;

  add(epoch: number, loss: number, accuracy: number, samples: number): { loss: number; accuracy: number } {
    const whole = Math.floor(epoch - 1e-9); // a step that ends an epoch belongs to it
    if (whole !== this.epoch) [this.epoch, this.samples, this.lossSum, this.correct] = [whole, 0, 0, 0];
    this.samples += samples;
    this.lossSum += loss * samples;
    this.correct += accuracy * samples;
    return { loss: this.lossSum / this.samples, accuracy: this.correct / this.samples };
  }
}

/** Attach a progress display to a coordinator: a live line on a terminal, a line every 5 s otherwise. */
export function attachProgress(coord: Coordinator, stream: NodeJS.WriteStream = process.stderr): Reporter {
  const unknown = {
    etaSeconds: null,
    epoch: 0,
    loss: null,
    accuracy: null,
    imagesPerSecond: 0,
    workers: 0,
    coordMs: null,
  };
  const status: Status = { step: coord.step, total: coord.derived.totalSteps, ...unknown };
  const tty = stream.isTTY === true;
  const means = new EpochMeans();
  let lastLine = 0;
  const width = (): number => (tty ? (stream.columns ?? 80) - 1 : 160);
  let multi: cliProgress.MultiBar | null = null;
  let bar: cliProgress.SingleBar | null = null;
  if (tty) {
    multi = new cliProgress.MultiBar({
      stream,
      hideCursor: true,
      clearOnComplete: false,
      format: () => statusLine(status, width()),
    });
    bar = multi.create(status.total, status.step);
  }
  const log = (line: string): void => {
    // on a terminal every logged line fits it: a wrapped one is partly overwritten when the bar redraws
    if (multi) for (const l of wrapLine(line, width())) multi.log(l + '\n');
    else stream.write(line + '\n');
  };
  coord.on('workers', (n) => {
    status.workers = n;
    bar?.update(status.step);
  });
  coord.on('step', (r) => {
    const inst = r.samples / (r.stepMs / 1000);
    status.imagesPerSecond = status.imagesPerSecond === 0 ? inst : 0.9 * status.imagesPerSecond + 0.1 * inst;
    const m = means.add(r.epoch, r.loss, r.accuracy, r.samples);
    Object.assign(status, { step: r.step, epoch: r.epoch, loss: m.loss, accuracy: m.accuracy, coordMs: r.coordMs });
    status.etaSeconds =
      status.imagesPerSecond > 0 ? ((status.total - r.step) * r.samples) / status.imagesPerSecond : null;
    if (bar) {
      bar.update(r.step);
    } else if (Date.now() - lastLine > 5000 || r.step === status.total || r.step === 1) {
      lastLine = Date.now();
      log(statusLine(status, width()));
    }
  });
  coord.on('eval', (e) => log(evaluationLine(e)));
  return { log, done: () => multi?.stop() };
}

/** One evaluation as the progress display prints it. */
export function evaluationLine(e: EvalRecord): string {
  const where = `at step ${e.step}, epoch ${e.epoch.toFixed(2)}`;
  const what = `loss ${e.loss.toFixed(4)}, accuracy ${(e.accuracy * 100).toFixed(2)}%`;
  return `evaluation (${e.split === 'val' ? 'validation' : 'test'}) ${where}: ${what} (${e.samples} images, ${e.ms.toFixed(0)} ms)`;
}

/** The workers that computed samples, busiest first, at most 8 named (a crash-looping worker is many connections). */
export function workersLine(workers: RunSummary['workers'], most = 8): string {
  const busy = [...workers].sort((a, b) => b.samples - a.samples);
  const named = busy.slice(0, most).map((w) => `${w.label} [${w.backend}] ${w.samples} samples`);
  const rest = busy.length - named.length;
  return [...named, ...(rest > 0 ? [`and ${rest} more connection(s)`] : [])].join(', ') || 'none';
}

export function summaryLines(s: RunSummary, dir: string): string[] {
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
  return [
    `run ${s.status}${s.stopReason ? ` (${s.stopReason})` : ''}: ${s.steps} steps, ${s.epochs.toFixed(2)} epochs, ` +
      `${s.samplesSeen} samples in ${s.wallSeconds.toFixed(1)} s`,
    `final: val accuracy ${pct(s.final.val?.accuracy)}, test accuracy ${pct(s.final.test?.accuracy)} (loss ${s.final.test?.loss.toFixed(4) ?? '-'})`,
    `throughput ${s.imagesPerSecond.toFixed(0)} img/s; median step ${s.medianStepMs.toFixed(1)} ` +
      `ms, coordinator ${s.medianCoordMs.toFixed(2)} ms/step; ${s.bytesPerStep} bytes/step`,
    `workers: ${workersLine(s.workers)}`,
    `outputs in ${dir}: config.json, metrics.jsonl, summary.json, run.log, report.html, checkpoints/, ` +
      `events.out.tfevents.* (tensorboard --logdir ${dirname(dir)})`,
    ...(s.error ? [`error: ${s.error}`] : []),
  ];
}
