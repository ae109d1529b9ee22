#!/usr/bin/env node
// Replays each finished run's validation records through --patience N (the coordinator's PlateauWatch):
// at which epoch that option would have ended the run, against what the run did (best accuracy, whether it
// reached the target). The check behind a sweep's --patience: it must stop runs that collapsed, not runs
// that were learning. Usage: node bench/patience-replay.mjs SWEEP_DIR PATIENCE_EPOCHS [TARGET]
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PlateauWatch, readMetrics, readSummary } from '../packages/coordinator/dist/src/index.js';
import { toTarget } from '../scripts/dist/src/experiment/run-plan.js';

const [sweep, patienceArg, targetArg = '0.6'] = process.argv.slice(2);
const patience = Number(patienceArg);
const target = Number(targetArg);
if (!sweep || !existsSync(sweep) || !(patience > 0) || !(target > 0 && target <= 1)) {
  console.error('usage: node bench/patience-replay.mjs SWEEP_DIR PATIENCE_EPOCHS [TARGET]');
  process.exit(2);
}
const rows = [];
for (const name of readdirSync(sweep).sort()) {
  const dir = join(sweep, name);
  const summary = readSummary(dir);
  if (!summary) continue;
  const records = readMetrics(dir);
  const watch = new PlateauWatch(patience, 0);
  const stop = records.find((r) => r.type === 'eval' && r.split === 'val' && watch.observe(r.epoch, r.loss, r.accuracy));
  const { bestValAccuracy, epochsToTarget } = toTarget(records, target, summary.config.batchSize);
  rows.push({
    name, status: summary.status, epochs: summary.epochs.toFixed(1), best: ((bestValAccuracy ?? 0) * 100).toFixed(2), reachedAtEpoch: epochsToTarget?.toFixed(2) ?? '-',
    patienceStopsAt: stop ? stop.epoch.toFixed(2) : '-', cut: stop !== undefined && epochsToTarget !== null && stop.epoch < epochsToTarget,
  });
}
console.table(rows);
const cut = rows.filter((r) => r.cut);
console.log(`--patience ${patience}: ${rows.filter((r) => r.patienceStopsAt !== '-').length} of ${rows.length} runs would have ended early; ${cut.length} of them before reaching ${target} (${cut.map((r) => r.name).join(', ') || 'none'})`);
