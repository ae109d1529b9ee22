// `dtrain experiment momentum` and `dtrain sweep`: build a plan, run it on one pool (N local worker
// processes, or workers that connect from other machines), print a table, write reports.

import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { validateConfig } from '@dtrain/common';
import { makeDir } from '@dtrain/common/files';
import { defaultRunDir, readMetrics } from '@dtrain/coordinator';
import { prepareCifar } from './coordinator-cmd.js';
import { runPlan, type PlannedRun, type RunOutcome } from './experiment.js';
import { spawnWorker } from './launch.js';
import { attachProgress } from './progress.js';
import { outcomeRow, writeRunReport, writeSweepReport } from './report.js';

export interface PoolArgs {
  host: string;
  port: number;
  token?: string | undefined;
  local: number;
  /** Local workers' CPU policy (dtrain worker --sched). */
  sched: string;
  backend: string;
  dataDir?: string | undefined;
  out?: string | undefined;
  target: number;
  waitTimeout: number;
  dataset: string;
}

const pct = (v: unknown) => (typeof v === 'number' ? `${(v * 100).toFixed(2)}%` : '-');
const num = (v: unknown, d = 1) => (typeof v === 'number' ? v.toFixed(d) : '-');

export function formatTable(outcomes: RunOutcome[], target: number): string[] {
  const rows = outcomes.map(outcomeRow).map((r) => [
    String(r['run']), pct(r['finalTestAccuracy']), num(r['finalTestLoss'], 4), pct(r['bestValAccuracy']),
    num(r['epochsToTarget'], 2), num(r['secondsToTarget']), num(r['imagesPerSecond'], 0),
  ]);
  const head = ['run', 'test acc', 'test loss', 'best val acc', `epochs to ${pct(target)}`, 'seconds to target', 'images/s'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export async function runExperiment(kind: string, plan: PlannedRun[], a: PoolArgs, group: (o: RunOutcome) => string): Promise<RunOutcome[]> {
  for (const r of plan) validateConfig(r.config);
  const outRoot = a.out ?? defaultRunDir(join('runs', kind));
  makeDir(outRoot);
  const cifarDir = await prepareCifar(a.dataset, a.dataDir);
  const token = a.token ?? (a.local > 0 ? randomBytes(16).toString('hex') : undefined);
  const host = a.host;
  const log = (l: string) => process.stderr.write(l + '\n');
  const children: ChildProcess[] = [];
  const started = Date.now();
  let ran = 0;
  let reporter: ReturnType<typeof attachProgress> | null = null;
  log(`${kind}: ${plan.length} runs into ${outRoot}${a.local > 0 ? `, ${a.local} local workers` : ''}`);
  const outcomes = await runPlan(plan, outRoot, a.target, { host, port: a.local > 0 ? 0 : a.port, token, cifarDir, waitTimeoutMs: a.waitTimeout * 1000, log: (l) => (reporter ? reporter.log(l) : log(l)) }, {
    onPoolReady: (port) => {
      log(`pool listening on ws://${host}:${port}${token && a.local === 0 ? ' (token required)' : ''}`);
      for (let i = 0; i < a.local; i++) children.push(spawnWorker(i, `ws://127.0.0.1:${port}`, token ?? '', { backend: a.backend, dataDir: cifarDir, sched: a.sched }, undefined));
    },
    onRunStart: (i, run, coord) => {
      const eta = ran > 0 ? ((Date.now() - started) / ran) * (plan.length - i) / 1000 : null;
      log(`run ${i + 1}/${plan.length}: ${run.name}${eta !== null ? ` (ETA ${Math.round(eta)} s)` : ''}`);
      reporter = attachProgress(coord);
    },
    onRunEnd: (i, o) => {
      reporter?.done();
      reporter = null;
      if (o.skipped) log(`run ${i + 1}/${plan.length}: ${o.name} already completed; kept`);
      else ran++;
      writeRunReport(o.dir, readMetrics(o.dir), o.summary);
    },
  });
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  for (const l of formatTable(outcomes, a.target)) process.stdout.write(l + '\n');
  const report = writeSweepReport(outRoot, `dtrain ${kind}`, outcomes, a.target, group);
  log(`report: ${report}; numbers: ${join(outRoot, 'results.csv')}, ${join(outRoot, 'results.json')}`);
  return outcomes;
}
