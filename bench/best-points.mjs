// Stage 3 of bench/batch-size-study-2.sh: the best point of each batch size x optimizer in a sweep
// directory, the seed-1 run with the fewest steps to TARGET (its validation accuracy reached TARGET before its
// epoch cap), and its learning-rate neighbours (the next lower and higher rates tried there), one line each:
// "BATCH OPTIMIZER BASE_LR EPOCHS" (the sweep flags that rerun them with more seeds). A cell with no run at
// TARGET is named on stderr and skipped. Usage: node bench/best-points.mjs DIR TARGET [BATCHES] [--best-only]
// (BATCHES: a comma list of the batch sizes to seed; --best-only: the best point without its neighbours).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, target] = [process.argv[2], Number(process.argv[3])];
const only = process.argv[4] && !process.argv[4].startsWith('--') ? new Set(process.argv[4].split(',')) : null;
const bestOnly = process.argv.includes('--best-only');
const NAME = /^b(\d+)-([a-z]+)[\d.]*-[a-z]+-w\d+-[a-z]+-lr([\d.e-]+)-s1$/;
const best = new Map();
const cells = new Set();
const tried = new Map(); // cell -> base lrs tried (as in the run names) with their epoch caps
for (const d of readdirSync(dir).sort()) {
  const m = NAME.exec(d);
  const file = join(dir, d, 'summary.json');
  if (!m || !existsSync(file)) continue;
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const cell = `${m[1]} ${m[2]}`;
  if (only && !only.has(m[1])) continue;
  cells.add(cell);
  tried.set(cell, [...(tried.get(cell) ?? []), { lr: m[3], epochs: s.config.epochs }]);
  const reached = s.status === 'completed' && s.steps < s.derived.totalSteps && (s.final?.val?.accuracy ?? 0) >= target;
  if (!reached) continue;
  const prev = best.get(cell);
  if (!prev || s.steps < prev.steps) best.set(cell, { steps: s.steps, lr: m[3], epochs: s.config.epochs });
}
for (const cell of cells) {
  const b = best.get(cell);
  if (!b) {
    process.stderr.write(`${cell}: no seed-1 run reached ${target}; no seeds added\n`);
    continue;
  }
  const lrs = (tried.get(cell) ?? []).sort((x, y) => Number(x.lr) - Number(y.lr));
  const i = lrs.findIndex((x) => x.lr === b.lr);
  for (const p of bestOnly ? [lrs[i]] : [lrs[i - 1], lrs[i], lrs[i + 1]]) if (p) console.log(`${cell} ${p.lr} ${p.epochs}`);
}
