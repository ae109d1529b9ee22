// Reports: self-contained HTML pages viewable offline, with charts drawn by Chart.js (inlined from the
// chart.js package). This file: the page, tables, CSV, and the report of one run. Sweeps:
// sweep-report.ts; runs overlaid (experiments, `dtrain report`): compare-report.ts.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { EvalRecord, MetricRecord, RunSummary, StepRecord } from '@dtrain/coordinator';

const require = createRequire(import.meta.url);
let chartJs: string | null = null;
function chartLibrary(): string {
  chartJs ??= readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8');
  return chartJs;
}

/** y null: a gap (error bars are drawn as segments separated by gaps). */
export type Point = { x: number; y: number | null };
export interface Series {
  label: string;
  data: Point[];
  dashed?: boolean;
  /** Draw the points (markers); a line series draws none by default. */
  points?: boolean;
  /** Markers only, no line. */
  noLine?: boolean;
  /** Chart.js point style for the markers, e.g. 'crossRot' for "never reached". */
  pointStyle?: string;
  /** Index into the palette (series that belong together share a colour); default: the series' position. */
  color?: number;
}
export interface ChartSpec {
  id: string;
  title: string;
  x: string;
  y: string;
  logX?: boolean;
  logY?: boolean;
  series: Series[];
  /** Ticks of the x axis exactly at these values (e.g. the batch sizes run). */
  ticksAt?: number[];
}

const COLORS = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];
const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/**
 * Ticks of a logarithmic y axis: 1 and 3 times the powers of ten, from the one below the lowest value to the
 * one above the highest (the axis ends there: no point sits on an edge without a tick near it;
 * Chart.js's own log ticks crowd, e.g. 7 and 10 drawn over each other). Null when no value is positive.
 */
export function logTicks(series: readonly Series[]): number[] | null {
  const ys = series
    .flatMap((s) => s.data.map((p) => p.y))
    .filter((y): y is number => y !== null && y > 0 && Number.isFinite(y));
  if (ys.length === 0) return null;
  const [lo, hi] = [Math.min(...ys), Math.max(...ys)];
  const all: number[] = [];
  for (let k = Math.floor(Math.log10(lo)) - 1; k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of [1, 3]) all.push(Number((m * 10 ** k).toPrecision(1)));
  }
  const first = all.filter((v) => v < lo).at(-1)!; // strictly: no point on the axis line itself
  const last = all.find((v) => v > hi)!;
  return all.filter((v) => v >= first && v <= last);
}

/** A log x axis with ticks at given values: it spans them and the data, with a margin, so no tick falls outside. */
function logXRange(c: ChartSpec): { min: number; max: number } {
  const xs = [...(c.ticksAt ?? []), ...c.series.flatMap((s) => s.data.map((p) => p.x))].filter((x) => x > 0);
  return { min: Math.min(...xs) / 1.3, max: Math.max(...xs) * 1.3 };
}

export function chartConfig(c: ChartSpec): {
  type: string;
  data: { datasets: Record<string, unknown>[] };
  options: Record<string, unknown>;
} {
  const yTicks = c.logY ? logTicks(c.series) : null;
  return {
    type: 'line',
    data: {
      datasets: c.series.map((s, i) => {
        const color = COLORS[(s.color ?? i) % COLORS.length];
        return {
          label: s.label,
          data: s.data,
          borderColor: color,
          backgroundColor: color,
          borderDash: s.dashed ? [6, 4] : [],
          pointRadius: s.points || s.noLine ? 4 : 0,
          pointStyle: s.pointStyle ?? 'circle',
          borderWidth: 1.5,
          showLine: !s.noLine,
          spanGaps: false,
        };
      }),
    },
    options: {
      animation: false,
      responsive: true,
      parsing: false,
      plugins: { title: { display: true, text: c.title } },
      scales: {
        x: {
          type: c.logX ? 'logarithmic' : 'linear',
          title: { display: true, text: c.x },
          ...(c.ticksAt ? { ticksAt: c.ticksAt } : {}),
          ...(c.ticksAt && c.logX ? logXRange(c) : {}),
        },
        y: {
          type: c.logY ? 'logarithmic' : 'linear',
          title: { display: true, text: c.y },
          ...(yTicks ? { ticksAt: yTicks, min: yTicks[0], max: yTicks.at(-1) } : {}),
        },
      },
    },
  };
}

export function htmlPage(title: string, intro: string, charts: ChartSpec[], table: string): string {
  // intro and table are HTML built here from escaped values
  const configs = JSON.stringify(charts.map((c) => ({ id: c.id, config: chartConfig(c) }))).replace(/</g, '\\u003c');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f4f4f4}</style>
<script>${chartLibrary()}</script></head><body><h1>${esc(title)}</h1><p>${intro}</p>
<div class="grid">${charts.map((c) => `<div><canvas id="${c.id}" data-chart="${esc(c.title)}"></canvas></div>`).join('')}</div>
<h2>Numbers</h2><div style="overflow-x:auto">${table}</div>
<script>window.dtrainCharts=[];for(const c of ${configs}){for(const x of Object.values(c.config.options.scales))if(x.ticksAt){
const at=x.ticksAt;delete x.ticksAt;x.afterBuildTicks=(axis)=>{axis.ticks=at.map((value)=>({value}));};x.ticks={callback:(v)=>String(v)};}
c.config.options.plugins.legend={labels:{filter:(item)=>!item.text.endsWith('range over seeds')}};
window.dtrainCharts.push(new Chart(document.getElementById(c.id),c.config));}document.body.dataset.rendered=String(window.dtrainCharts.length);
document.body.dataset.drawn=String(window.dtrainCharts.filter((ch)=>{const c=ch.canvas,x=c.getContext('2d').getImageData(0,0,c.width,c.height).data;
let n=0;for(let i=3;i<x.length;i+=4)if(x[i]>0)n++;return n>500;}).length);</script>
</body></html>`;
}

/** A table cell that links somewhere (e.g. a run's own report). */
export interface Link {
  href: string;
  text: string;
}
const isLink = (v: unknown): v is Link => typeof v === 'object' && v !== null && 'href' in v && 'text' in v;

export function htmlTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '<p>no rows</p>';
  const cols = Object.keys(rows[0]!);
  const cell = (v: unknown): string =>
    isLink(v)
      ? `<a href="${esc(encodeURI(v.href))}">${esc(v.text)}</a>`
      : esc(
          v === null || v === undefined
            ? '-'
            : typeof v === 'number'
              ? Number.isInteger(v)
                ? String(v)
                : v.toPrecision(4)
              : String(v),
        );
  const head = `<tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${cols.map((c) => `<td>${cell(r[c])}</td>`).join('')}</tr>`).join('');
  return `<table>${head}${body}</table>`;
}

export function toCsv(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]!);
  const q = (v: unknown): string =>
    isLink(v)
      ? q(v.text)
      : v === null || v === undefined
        ? ''
        : /[",\n]/.test(String(v))
          ? `"${String(v).replace(/"/g, '""')}"`
          : String(v);
  return [cols.join(','), ...rows.map((r) => cols.map((c) => q(r[c])).join(','))].join('\n') + '\n';
}

/** Most points a per-step series draws: longer runs are shown as means over equal windows of steps. */
export const MAX_POINTS = 1000;

/** Points of (step, value), as at most MAX_POINTS window means (x: the window's last step). */
export function stepSeries<R extends { step: number }>(rows: readonly R[], f: (r: R) => number | null): Point[] {
  const pts = rows.map((r) => ({ x: r.step, y: f(r) })).filter((p): p is { x: number; y: number } => p.y !== null);
  const w = Math.ceil(pts.length / MAX_POINTS);
  if (w <= 1) return pts;
  const out: Point[] = [];
  for (let i = 0; i < pts.length; i += w) {
    const win = pts.slice(i, i + w);
    out.push({ x: win[win.length - 1]!.x, y: win.reduce((a, p) => a + p.y, 0) / win.length });
  }
  return out;
}

/** Charts of one run: loss, accuracy (train/val/test), lr, throughput, time breakdown, B_simple. */
export function runCharts(records: MetricRecord[], key = ''): ChartSpec[] {
  const steps = records.filter((r): r is StepRecord => r.type === 'step');
  const evals = records.filter((r): r is EvalRecord => r.type === 'eval');
  const by = (split: string, f: (e: EvalRecord) => number, x: 'step' | 'epoch' = 'step') =>
    evals.filter((e) => e.split === split).map((e) => ({ x: e[x], y: f(e) }));
  const s = (f: (r: StepRecord) => number | null) => stepSeries(steps, f);
  const chart = (id: string, title: string, x: string, y: string, series: Series[]): ChartSpec => ({
    id: `${key}${id}`,
    ...{ title, x, y, series },
  });
  const splits = (f: (e: EvalRecord) => number): Series[] => [
    { label: 'validation', data: by('val', f) },
    { label: 'test', data: by('test', f) },
  ];
  return [
    chart('loss', 'Loss', 'step', 'cross-entropy', [
      { label: 'train (batch)', data: s((r) => r.loss) },
      ...splits((e) => e.loss),
    ]),
    chart('acc', 'Accuracy', 'step', 'accuracy', [
      { label: 'train (batch)', data: s((r) => r.accuracy) },
      ...splits((e) => e.accuracy),
    ]),
    chart('epochs', 'Accuracy by epoch', 'epoch', 'accuracy', [
      { label: 'validation', data: by('val', (e) => e.accuracy, 'epoch') },
      { label: 'test', data: by('test', (e) => e.accuracy, 'epoch') },
    ]),
    chart('lr', 'Learning rate', 'step', 'lr', [{ label: 'lr', data: s((r) => r.lr) }]),
    chart('ips', 'Throughput', 'step', 'images/s', [
      { label: 'images/s', data: s((r) => r.samples / (r.stepMs / 1000)) },
    ]),
    chart('time', 'Time per step', 'step', 'ms', [
      { label: 'step', data: s((r) => r.stepMs) },
      { label: 'waiting for workers', data: s((r) => r.waitMs) },
      { label: 'coordinator', data: s((r) => r.coordMs) },
    ]),
    chart('noise', 'Gradient noise scale B_simple (smoothed)', 'step', 'B_simple', [
      { label: 'B_simple', data: s((r) => r.bSimple) },
    ]),
  ];
}

export function writeRunReport(dir: string, records: MetricRecord[], summary: RunSummary): string {
  const o = summary.config.optimizer;
  const opt =
    o.momentum === 0 ? 'plain SGD' : `momentum ${o.momentum}, form "${o.form}"${o.nesterov ? ', Nesterov' : ''}`;
  const intro =
    `${summary.steps} steps, ${summary.epochs.toFixed(2)} epochs, ${summary.samplesSeen} ` +
    `samples; optimizer: ${esc(opt)}; ${summary.imagesPerSecond.toFixed(0)} images/s.`;
  const path = join(dir, 'report.html');
  writeFileSync(
    path,
    htmlPage(
      `dtrain run ${summary.runId}`,
      intro,
      runCharts(records),
      htmlTable([
        { ...summary.final.test, split: 'test' },
        { ...summary.final.val, split: 'val' },
      ]),
    ),
  );
  return path;
}
