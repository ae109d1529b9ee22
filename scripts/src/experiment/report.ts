// Reports: one self-contained HTML page per run and per sweep, viewable offline, with charts drawn by
// Chart.js (inlined from the chart.js package), plus CSV/JSON of the same numbers.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { EvalRecord, MetricRecord, RunSummary, StepRecord } from '@dtrain/coordinator';
import type { RunOutcome } from './run-plan.js';

const require = createRequire(import.meta.url);
let chartJs: string | null = null;
function chartLibrary(): string {
  chartJs ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8');
  return chartJs;
}

type Point = { x: number; y: number };
interface Series { label: string; data: Point[]; dashed?: boolean }
export interface ChartSpec { id: string; title: string; x: string; y: string; logX?: boolean; logY?: boolean; series: Series[]; scatter?: boolean }

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function chartConfig(c: ChartSpec): object {
  return {
    type: c.scatter ? 'scatter' : 'line',
    data: {
      datasets: c.series.map((s, i) => ({
        label: s.label, data: s.data, borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length],
        borderDash: s.dashed ? [6, 4] : [], pointRadius: c.scatter ? 4 : 0, borderWidth: 1.5, showLine: !c.scatter || s.dashed === true,
      })),
    },
    options: {
      animation: false, responsive: true, parsing: false,
      plugins: { title: { display: true, text: c.title } },
      scales: {
        x: { type: c.logX ? 'logarithmic' : 'linear', title: { display: true, text: c.x } },
        y: { type: c.logY ? 'logarithmic' : 'linear', title: { display: true, text: c.y } },
      },
    },
  };
}

export function htmlPage(title: string, intro: string, charts: ChartSpec[], table: string): string {
  const configs = JSON.stringify(charts.map((c) => ({ id: c.id, config: chartConfig(c) }))).replace(/</g, '\\u003c');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}</style>
<script>${chartLibrary()}</script></head><body><h1>${esc(title)}</h1><p>${intro}</p>
<div class="grid">${charts.map((c) => `<div><canvas id="${c.id}" data-chart="${esc(c.title)}"></canvas></div>`).join('')}</div>
<h2>Numbers</h2><div style="overflow-x:auto">${table}</div>
<script>window.dtrainCharts=[];for(const c of ${configs}){window.dtrainCharts.push(new Chart(document.getElementById(c.id),c.config));}document.body.dataset.rendered=String(window.dtrainCharts.length);
document.body.dataset.drawn=String(window.dtrainCharts.filter((ch)=>{const c=ch.canvas,x=c.getContext('2d').getImageData(0,0,c.width,c.height).data;let n=0;for(let i=3;i<x.length;i+=4)if(x[i]>0)n++;return n>500;}).length);</script>
</body></html>`;
}

export function htmlTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '<p>no rows</p>';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown) => esc(v === null || v === undefined ? '-' : typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(4)) : String(v));
  return `<table><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>${rows.map((r) => `<tr>${cols.map((c) => `<td>${cell(r[c])}</td>`).join('')}</tr>`).join('')}</table>`;
}

export function toCsv(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const q = (v: unknown) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((c) => q(r[c])).join(','))].join('\n') + '\n';
}

/** Charts of one run: loss, accuracy (train/val/test), lr, throughput, time breakdown, B_simple. */
export function runCharts(records: MetricRecord[], key = ''): ChartSpec[] {
  const steps = records.filter((r): r is StepRecord => r.type === 'step');
  const evals = records.filter((r): r is EvalRecord => r.type === 'eval');
  const by = (split: string, f: (e: EvalRecord) => number) => evals.filter((e) => e.split === split).map((e) => ({ x: e.step, y: f(e) }));
  const s = (f: (r: StepRecord) => number | null) => steps.filter((r) => f(r) !== null).map((r) => ({ x: r.step, y: f(r)! }));
  return [
    { id: `${key}loss`, title: 'Loss', x: 'step', y: 'cross-entropy', series: [{ label: 'train (batch)', data: s((r) => r.loss) }, { label: 'validation', data: by('val', (e) => e.loss) }, { label: 'test', data: by('test', (e) => e.loss) }] },
    { id: `${key}acc`, title: 'Accuracy', x: 'step', y: 'accuracy', series: [{ label: 'train (batch)', data: s((r) => r.accuracy) }, { label: 'validation', data: by('val', (e) => e.accuracy) }, { label: 'test', data: by('test', (e) => e.accuracy) }] },
    { id: `${key}epochs`, title: 'Accuracy by epoch', x: 'epoch', y: 'accuracy', series: [{ label: 'validation', data: evals.filter((e) => e.split === 'val').map((e) => ({ x: e.epoch, y: e.accuracy })) }, { label: 'test', data: evals.filter((e) => e.split === 'test').map((e) => ({ x: e.epoch, y: e.accuracy })) }] },
    { id: `${key}lr`, title: 'Learning rate', x: 'step', y: 'lr', series: [{ label: 'lr', data: s((r) => r.lr) }] },
    { id: `${key}ips`, title: 'Throughput', x: 'step', y: 'images/s', series: [{ label: 'images/s', data: s((r) => r.samples / (r.stepMs / 1000)) }] },
    { id: `${key}time`, title: 'Time per step', x: 'step', y: 'ms', series: [{ label: 'step', data: s((r) => r.stepMs) }, { label: 'waiting for workers', data: s((r) => r.waitMs) }, { label: 'coordinator', data: s((r) => r.coordMs) }] },
    { id: `${key}noise`, title: 'Gradient noise scale B_simple (smoothed)', x: 'step', y: 'B_simple', series: [{ label: 'B_simple', data: s((r) => r.bSimple) }] },
  ];
}

export function writeRunReport(dir: string, records: MetricRecord[], summary: RunSummary): string {
  const o = summary.config.optimizer;
  const opt = o.momentum === 0 ? 'plain SGD' : `momentum ${o.momentum}, form "${o.form}"${o.nesterov ? ', Nesterov' : ''}`;
  const intro = `${summary.steps} steps, ${summary.epochs.toFixed(2)} epochs, ${summary.samplesSeen} samples; optimizer: ${esc(opt)}; ${summary.imagesPerSecond.toFixed(0)} images/s.`;
  const path = join(dir, 'report.html');
  writeFileSync(path, htmlPage(`dtrain run ${summary.runId}`, intro, runCharts(records), htmlTable([{ ...summary.final.test, split: 'test' }, { ...summary.final.val, split: 'val' }])));
  return path;
}

export function outcomeRow(o: RunOutcome): Record<string, unknown> {
  const s = o.summary;
  return {
    run: o.name, ...o.labels, batchSize: o.batchSize, finalTestAccuracy: s.final.test?.accuracy ?? null, finalTestLoss: s.final.test?.loss ?? null,
    bestValAccuracy: o.bestValAccuracy, stepsToTarget: o.stepsToTarget, examplesToTarget: o.examplesToTarget, epochsToTarget: o.epochsToTarget,
    secondsToTarget: o.secondsToTarget, imagesPerSecond: s.imagesPerSecond, wallSeconds: s.wallSeconds,
  };
}

/** Sweep charts: steps to target vs batch size (log-log, perfect-scaling line), final accuracy and images/s vs batch size. */
export function sweepCharts(outcomes: RunOutcome[], group: (o: RunOutcome) => string): ChartSpec[] {
  const groups = [...new Set(outcomes.map(group))];
  const series = (f: (o: RunOutcome) => number | null) => groups.map((g) => ({
    label: g, data: outcomes.filter((o) => group(o) === g && f(o) !== null).map((o) => ({ x: o.batchSize, y: f(o)! })).sort((a, b) => a.x - b.x),
  }));
  const reached = outcomes.filter((o) => o.stepsToTarget !== null);
  const smallest = reached.reduce<RunOutcome | null>((a, o) => (!a || o.batchSize < a.batchSize ? o : a), null);
  const perfect: Series[] = smallest ? [{
    label: 'perfect scaling', dashed: true,
    data: [...new Set(outcomes.map((o) => o.batchSize))].sort((a, b) => a - b).map((b) => ({ x: b, y: (smallest.stepsToTarget! * smallest.batchSize) / b })),
  }] : [];
  return [
    { id: 'steps', title: 'Steps to target vs batch size', x: 'batch size', y: 'steps to target', logX: true, logY: true, scatter: true, series: [...series((o) => o.stepsToTarget), ...perfect] },
    { id: 'acc', title: 'Final test accuracy vs batch size', x: 'batch size', y: 'test accuracy', logX: true, scatter: true, series: series((o) => o.summary.final.test?.accuracy ?? null) },
    { id: 'ips', title: 'Images/s vs batch size', x: 'batch size', y: 'images/s', logX: true, scatter: true, series: series((o) => o.summary.imagesPerSecond) },
  ];
}

/** Write report.html, results.csv and results.json for a set of runs. */
export function writeSweepReport(dir: string, title: string, outcomes: RunOutcome[], target: number, group: (o: RunOutcome) => string): string {
  const rows = outcomes.map(outcomeRow);
  writeFileSync(join(dir, 'results.csv'), toCsv(rows));
  writeFileSync(join(dir, 'results.json'), JSON.stringify({ target, runs: rows }, null, 2) + '\n');
  const path = join(dir, 'report.html');
  writeFileSync(path, htmlPage(title, `${outcomes.length} runs; target validation accuracy ${target}. Steps to target on log-log axes with the perfect-scaling line (steps x batch = constant).`, sweepCharts(outcomes, group), htmlTable(rows)));
  return path;
}
