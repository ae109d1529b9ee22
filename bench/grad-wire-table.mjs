// The table of bench/grad-wire-accuracy.sh: one row per run directory under DIR (summary.json + metrics).
// Usage: node bench/grad-wire-table.mjs DIR
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const dir = process.argv[2];
const records = (run) => {
  const plain = join(run, 'metrics.jsonl');
  const text = existsSync(plain) ? readFileSync(plain, 'utf8') : gunzipSync(readFileSync(`${plain}.gz`)).toString('utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
};
const pct = (v) => `${(100 * v).toFixed(2)}%`;
const rows = [];
for (const name of readdirSync(dir).sort()) {
  const summaryPath = join(dir, name, 'summary.json');
  if (!existsSync(summaryPath)) continue;
  const s = JSON.parse(readFileSync(summaryPath, 'utf8'));
  const evals = records(join(dir, name)).filter((r) => r.type === 'eval' && r.split === 'val');
  const best = Math.max(...evals.map((r) => r.accuracy));
  const steps = records(join(dir, name)).filter((r) => r.type === 'step');
  const meshed = steps.filter((r) => r.mesh !== undefined).length;
  rows.push(`| ${name} | ${s.config.gradWire ?? 'fp32'} | ${s.config.weightWire ?? 'fp32'} | ${s.config.seed} | ${s.status} | ${pct(s.final.test.accuracy)} | ${s.final.test.loss.toFixed(4)} | ${s.final.val ? pct(s.final.val.accuracy) : "-"} | ${evals.length ? pct(best) : "-"} | ${(s.bytesPerStep / 1e6).toFixed(3)} | ${s.imagesPerSecond.toFixed(0)} | ${meshed ? `${meshed} of ${steps.length}` : '-'} |`);
}
process.stdout.write(['| run | grad wire | weight wire | seed | status | test acc | test loss | final val acc | best val acc | MB through the coordinator per step | images/s | steps through the mesh |', '|---|---|---|---|---|---|---|---|---|---|---|---|', ...rows].join('\n') + '\n');
