// `dtrain bench scale-report DIR`: the JSON lines of `bench scale` runs in DIR as one table (table.md)
// and one page of charts (report.html): coordinator CPU per step against N (with a memcpy of the same
// bytes), and step time against the flat and ring-allreduce bounds where the links were shaped.

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScalePoint } from '../bench/scale.js';
import { type ChartSpec, htmlPage, htmlTable, type Series } from './run-report.js';

/** A point as written: files from before --weight-wire have no weightWire (fp32). */
type Row = Omit<ScalePoint, 'weightWire'> & { weightWire?: ScalePoint['weightWire']; where: string };

/** "int8", or "fp32 / weights int8" when the weights travelled compressed too. */
const wire = (r: Row): string =>
  r.weightWire && r.weightWire !== 'fp32' ? `${r.gradWire} / weights ${r.weightWire}` : r.gradWire;

export function readScaleResults(dir: string): Row[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .flatMap((f) =>
      readFileSync(join(dir, f), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Partial<Row>)
        .filter((r): r is Row => typeof r.workers === 'number' && typeof r.stepMs === 'number'),
    );
}

const fmt = (v: number | null, d = 1): string => (v === null ? '-' : v.toFixed(d));

export function scaleTable(rows: readonly Row[]): string[] {
  const head = [
    'where',
    'model',
    'wire',
    'N',
    'step ms',
    'coord CPU ms',
    'MB in/out',
    'memcpy ms',
    'CPU / memcpy',
    'flat bound ms',
    'ring bound ms',
    'step / flat',
    'step / ring',
  ];
  const body = rows.map((r) => [
    r.where,
    r.model,
    wire(r),
    String(r.workers),
    fmt(r.stepMs),
    fmt(r.coordCpuMsPerStep),
    `${fmt(r.bytesInPerStep / 1e6)}/${fmt(r.bytesOutPerStep / 1e6)}`,
    fmt(r.memcpyMsPerStep, 2),
    fmt(r.coordCpuMsPerStep / Math.max(1e-3, r.memcpyMsPerStep)),
    fmt(r.flatBoundMs),
    fmt(r.ringBoundMs),
    r.flatBoundMs ? fmt(r.stepMs / r.flatBoundMs, 2) : '-',
    r.ringBoundMs ? fmt(r.stepMs / r.ringBoundMs, 2) : '-',
  ]);
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...body.map((c) => `| ${c.join(' | ')} |`),
  ];
}

/** "loopback", "1gbit", "10gbit int8": what distinguishes a group of points within one model's chart. */
const short = (r: Row): string => {
  const extra = /links, (.+)$/.exec(r.where)?.[1]; // e.g. "relays"
  return `${r.linkGbit === null ? 'loopback' : `${r.linkGbit} Gbit/s`}${wire(r) === 'fp32' ? '' : ` ${wire(r)}`}${extra ? ` ${extra}` : ''}`;
};

/** Per model: coordinator CPU per step against N (dashed: memcpy), and step time against the link bounds. */
export function scaleCharts(rows: readonly Row[]): ChartSpec[] {
  const models = [...new Set(rows.map((r) => r.model))];
  const charts: ChartSpec[] = [];
  for (const model of models) {
    const mine = rows.filter((r) => r.model === model).sort((a, b) => a.workers - b.workers);
    const groups = [...new Set(mine.map(short))];
    const ns = [...new Set(mine.map((r) => r.workers))];
    const of = (g: string) => mine.filter((r) => short(r) === g);
    charts.push({
      id: `cpu-${model}`,
      title: `${model}: coordinator CPU per step (dashed: memcpy of its bytes)`,
      x: 'workers N',
      y: 'ms per step',
      logX: true,
      logY: true,
      ticksAt: ns,
      series: groups.flatMap((g, color): Series[] => [
        { label: g, color, points: true, data: of(g).map((r) => ({ x: r.workers, y: r.coordCpuMsPerStep })) },
        { label: `${g} memcpy`, color, dashed: true, data: of(g).map((r) => ({ x: r.workers, y: r.memcpyMsPerStep })) },
      ]),
    });
    const shaped = groups.filter((g) => of(g).some((r) => r.flatBoundMs !== null));
    if (shaped.length === 0) continue;
    charts.push({
      id: `step-${model}`,
      title: `${model}: step time vs link bounds (dashed: flat, triangles: ring)`,
      x: 'workers N',
      y: 'ms per step',
      logX: true,
      logY: true,
      ticksAt: ns,
      series: shaped.flatMap((g, i): Series[] => [
        { label: `${g} step`, color: i, points: true, data: of(g).map((r) => ({ x: r.workers, y: r.stepMs })) },
        {
          label: `${g} flat bound`,
          color: i,
          dashed: true,
          data: of(g).map((r) => ({ x: r.workers, y: r.flatBoundMs })),
        },
        {
          label: `${g} ring bound`,
          color: i,
          dashed: true,
          pointStyle: 'triangle',
          points: true,
          data: of(g)
            .filter((r) => r.workers > 1)
            .map((r) => ({ x: r.workers, y: r.ringBoundMs })),
        },
      ]),
    });
  }
  return charts;
}

export function writeScaleReport(dir: string): string[] {
  const rows = readScaleResults(dir);
  writeFileSync(join(dir, 'table.md'), scaleTable(rows).join('\n') + '\n');
  const table = htmlTable(rows.map((r) => ({ ...r })));
  writeFileSync(
    join(dir, 'report.html'),
    htmlPage('dtrain bench scale', `${rows.length} points from ${dir}.`, scaleCharts(rows), table),
  );
  return [join(dir, 'table.md'), join(dir, 'report.html')];
}
