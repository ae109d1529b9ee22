// Runs overlaid, one colour per run: validation accuracy and loss against epochs (the figure for "SGD
// vs momentum"), training loss against steps, and a table. The momentum experiment's report and
// `dtrain report RUN_DIR...`.

import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { EvalRecord, MetricRecord, RunSummary, StepRecord } from '@dtrain/coordinator';
import { type ChartSpec, htmlPage, htmlTable } from './run-report.js';

export interface ComparedRun {
  name: string;
  dir: string;
  records: MetricRecord[];
  summary: RunSummary | null;
}

/** Means of the training loss over windows of `every` steps (a readable curve for long runs). */
function smoothedLoss(steps: StepRecord[], every: number): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let i = 0; i < steps.length; i += every) {
    const w = steps.slice(i, i + every);
    out.push({ x: w[w.length - 1]!.epoch, y: w.reduce((a, r) => a + r.loss, 0) / w.length });
  }
  return out;
}

export function compareCharts(runs: readonly ComparedRun[]): ChartSpec[] {
  const evals = (r: ComparedRun, split: string) =>
    r.records.filter((e): e is EvalRecord => e.type === 'eval' && e.split === split);
  const valOrTest = (r: ComparedRun) => (evals(r, 'val').length ? 'val' : 'test');
  const per = (f: (e: EvalRecord) => number) =>
    runs.map((r, color) => ({
      label: r.name,
      color,
      points: true,
      data: evals(r, valOrTest(r)).map((e) => ({ x: e.epoch, y: f(e) })),
    }));
  const steps = (r: ComparedRun) => r.records.filter((e): e is StepRecord => e.type === 'step');
  const window = Math.max(1, Math.round(Math.max(...runs.map((r) => steps(r).length), 1) / 200));
  return [
    { id: 'valacc', title: 'Validation accuracy by epoch', x: 'epoch', y: 'accuracy', series: per((e) => e.accuracy) },
    { id: 'valloss', title: 'Validation loss by epoch', x: 'epoch', y: 'cross-entropy', series: per((e) => e.loss) },
    {
      id: 'trainloss',
      title: `Training loss by epoch (mean of ${window} step${window > 1 ? 's' : ''})`,
      x: 'epoch',
      y: 'cross-entropy',
      series: runs.map((r, color) => ({ label: r.name, color, data: smoothedLoss(steps(r), window) })),
    },
  ];
}

export function compareRows(runs: readonly ComparedRun[], dir: string): Record<string, unknown>[] {
  return runs.map((r) => {
    const s = r.summary;
    const o = s?.config.optimizer;
    const best = Math.max(
      ...r.records
        .filter((e) => e.type === 'eval' && e.split === 'val')
        .map((e) => (e.type === 'eval' ? e.accuracy : 0)),
      -Infinity,
    );
    return {
      run: { href: `${relative(dir, r.dir) || '.'}/report.html`, text: r.name },
      status: s?.status ?? 'running or stopped',
      optimizer: o
        ? o.momentum === 0
          ? 'sgd'
          : `momentum ${o.momentum} (${o.form}${o.nesterov ? ', nesterov' : ''})`
        : '-',
      batchSize: s?.config.batchSize ?? null,
      lr: s?.config.lr ?? null,
      epochs: s?.epochs ?? null,
      finalTestAccuracy: s?.final.test?.accuracy ?? null,
      finalTestLoss: s?.final.test?.loss ?? null,
      bestValAccuracy: Number.isFinite(best) ? best : null,
      imagesPerSecond: s?.imagesPerSecond ?? null,
    };
  });
}

/** Write the overlay report to `path` (links to each run's own report relative to `dir`). */
export function writeCompareReport(
  path: string,
  dir: string,
  title: string,
  runs: readonly ComparedRun[],
  intro: string,
): string {
  writeFileSync(path, htmlPage(title, intro, compareCharts(runs), htmlTable(compareRows(runs, dir))));
  return path;
}
