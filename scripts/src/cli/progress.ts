// The run's progress display: a live bar on a terminal (cli-progress), periodic lines otherwise, and
// the derived numbers before step 1 (per-worker batch, steps per epoch, bytes per step).

import cliProgress from 'cli-progress';
import type { Coordinator, RunSummary } from '@dtrain/coordinator';
import type { Derived, TrainConfig } from '@dtrain/common';

const fmtBytes = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : `${(n / 1e3).toFixed(1)} kB`);

export function describeRun(c: TrainConfig, d: Derived): string[] {
  const o = c.optimizer;
  const opt = o.momentum === 0 ? 'plain SGD' : `momentum ${o.momentum} (${o.form}${o.form === 'pytorch' ? `, dampening ${o.dampening}` : ''}${o.nesterov ? ', nesterov' : ''})`;
  return [
    `model ${c.model}: ${d.paramCount.toLocaleString('en-US')} parameters; dataset ${c.dataset.name}: ${d.trainSamples} train samples`,
    `global batch ${c.batchSize} = ${c.workers} workers x ${Number.isInteger(d.perWorkerBatch) ? d.perWorkerBatch : d.perWorkerBatch.toFixed(1)}; ${d.stepsPerEpoch} steps/epoch; ${d.totalSteps} steps in total`,
    `optimizer: ${opt}, weight decay ${o.weightDecay}; lr ${c.lr} -> peak ${d.peakLr.toPrecision(4)} (${c.scaling} scaling), schedule ${c.schedule}, warmup ${c.warmupSteps} steps`,
    `exchange: ${fmtBytes(d.bytesPerBroadcast)} per gradient or broadcast, ${fmtBytes(d.bytesPerStep)} per step`,
  ];
}

export interface Reporter {
  log(line: string): void;
  done(): void;
}

/** Attach a progress display to a coordinator. */
export function attachProgress(coord: Coordinator, stream: NodeJS.WriteStream = process.stderr): Reporter {
  const total = coord.derived.totalSteps;
  const tty = stream.isTTY === true;
  let ips = 0;
  let lastLine = 0;
  let multi: cliProgress.MultiBar | null = null;
  let bar: cliProgress.SingleBar | null = null;
  let workers = 0;
  const fields = { epoch: '0.00', loss: '-', acc: '-', ips: '-', workers: '0', coord: '-' };
  if (tty) {
    multi = new cliProgress.MultiBar({
      stream, hideCursor: true, clearOnComplete: false, etaBuffer: 50,
      format: 'step {value}/{total} [{bar}] {percentage}% | epoch {epoch} | loss {loss} | acc {acc} | {ips} img/s | {workers} workers | coord {coord} ms | ETA {eta_formatted}',
    }, cliProgress.Presets.shades_classic);
    bar = multi.create(total, coord.step, fields);
  }
  const log = (line: string): void => {
    if (multi) multi.log(line + '\n');
    else stream.write(line + '\n');
  };
  coord.on('workers', (n) => {
    workers = n;
    bar?.update({ workers: String(n) });
  });
  coord.on('step', (r) => {
    const inst = r.samples / (r.stepMs / 1000);
    ips = ips === 0 ? inst : 0.9 * ips + 0.1 * inst;
    const f = { epoch: r.epoch.toFixed(2), loss: r.loss.toFixed(4), acc: r.accuracy.toFixed(3), ips: ips.toFixed(0), workers: String(workers), coord: r.coordMs.toFixed(2) };
    if (bar) {
      bar.update(r.step, f);
    } else if (Date.now() - lastLine > 5000 || r.step === total || r.step === 1) {
      lastLine = Date.now();
      log(`step ${r.step}/${total} epoch ${f.epoch} loss ${f.loss} acc ${f.acc} ${f.ips} img/s workers ${workers} coord ${f.coord} ms`);
    }
  });
  coord.on('eval', (e) => log(`eval ${e.split.padEnd(4)} step ${e.step} epoch ${e.epoch.toFixed(2)}: loss ${e.loss.toFixed(4)} accuracy ${(e.accuracy * 100).toFixed(2)}% (${e.samples} samples, ${e.ms.toFixed(0)} ms)`));
  return {
    log,
    done: () => {
      multi?.stop();
    },
  };
}

export function summaryLines(s: RunSummary, dir: string): string[] {
  const pct = (x: number | undefined) => (x === undefined ? '-' : `${(x * 100).toFixed(2)}%`);
  return [
    `run ${s.status}${s.stopReason ? ` (${s.stopReason})` : ''}: ${s.steps} steps, ${s.epochs.toFixed(2)} epochs, ${s.samplesSeen} samples in ${s.wallSeconds.toFixed(1)} s`,
    `final: val accuracy ${pct(s.final.val?.accuracy)}, test accuracy ${pct(s.final.test?.accuracy)} (loss ${s.final.test?.loss.toFixed(4) ?? '-'})`,
    `throughput ${s.imagesPerSecond.toFixed(0)} img/s; median step ${s.medianStepMs.toFixed(1)} ms, coordinator ${s.medianCoordMs.toFixed(2)} ms/step; ${s.bytesPerStep} bytes/step`,
    `workers: ${s.workers.map((w) => `${w.label} [${w.backend}] ${w.samples} samples`).join(', ') || 'none'}`,
    `outputs in ${dir}: config.json, metrics.jsonl, summary.json, checkpoints/`,
    ...(s.error ? [`error: ${s.error}`] : []),
  ];
}
