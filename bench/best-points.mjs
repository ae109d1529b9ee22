// Stage 3 of bench/batch-size-study-2.sh: the best point of each batch size x optimizer in a sweep
// directory, the seed-1 run with the fewest steps to TARGET (its validation accuracy reached TARGET before its
// epoch cap), one line each: "BATCH OPTIMIZER BASE_LR EPOCHS" (the sweep flags that rerun it with more
// seeds). A cell with no run at TARGET is named on stderr and skipped. Usage: node bench/best-points.mjs DIR TARGET
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, target] = [process.argv[2], Number(process.argv[3])];
const NAME = /^b(\d+)-([a-z]+)[\d.]*-[a-z]+-w\d+-[a-z]+-lr([\d.e-]+)-s1$/;
const best = new Map();
const cells = new Set();
for (const d of readdirSync(dir).sort()) {
  const m = NAME.exec(d);
  const file = join(dir, d, 'summary.json');
  if (!m || !existsSync(file)) continue;
  const s = JSON.parse(readFileSync(file, 'utf8'));
  const cell = `${m[1]} ${m[2]}`;
  cells.add(cell);
  const reached = s.status === 'completed' && s.steps < s.derived.totalSteps && (s.final?.val?.accuracy ?? 0) >= target;
  if (!reached) continue;
  const prev = best.get(cell);
  if (!prev || s.steps < prev.steps) best.set(cell, { steps: s.steps, lr: m[3], epochs: s.config.epochs });
}
for (const cell of cells) {
  const b = best.get(cell);
  if (b) console.log(`${cell} ${b.lr} ${b.epochs}`);
  else process.stderr.write(`${cell}: no seed-1 run reached ${target}; no seeds added\n`);
}
