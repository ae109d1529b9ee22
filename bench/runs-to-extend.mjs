// Stages 3 and 6 of bench/batch-size-study.sh: the runs at batch B to continue to E epochs. For each optimizer
// with no run at B that reached its target, every run at B that ran to its epoch cap and did not collapse
// (final validation accuracy >= 0.3), unless it already has an E-epoch cap (and was not interrupted there);
// with `best`, only the one with the highest final validation accuracy of each optimizer. Prints one
// directory a line. Usage: node bench/runs-to-extend.mjs SWEEP_DIR B E [best]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dir, batch, epochs, best] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5] === 'best'];
const runs = readdirSync(dir).filter((d) => d.startsWith(`b${batch}-`) && existsSync(join(dir, d, 'summary.json')))
  .map((d) => ({ dir: join(dir, d), s: JSON.parse(readFileSync(join(dir, d, 'summary.json'), 'utf8')) }));
const optimizer = (r) => r.dir.split('/').pop().split('-')[1];
const reached = (r) => r.s.status === 'completed' && r.s.steps < r.s.derived.totalSteps;
for (const opt of new Set(runs.map(optimizer))) {
  const mine = runs.filter((r) => optimizer(r) === opt);
  if (mine.some(reached)) continue;
  const picked = [];
  for (const r of mine) {
    if (r.s.config.epochs >= epochs && r.s.status !== 'stopped') continue; // extended already (completed or stalled there)
    if ((r.s.final?.val?.accuracy ?? 0) < 0.3) continue;
    if (!existsSync(join(r.dir, 'checkpoints'))) { process.stderr.write(`${r.dir}: no checkpoint left to extend (archived); skipped\n`); continue; }
    picked.push(r);
  }
  const accuracy = (r) => r.s.final?.val?.accuracy ?? 0;
  for (const r of best ? picked.sort((a, b) => accuracy(b) - accuracy(a)).slice(0, 1) : picked) console.log(r.dir);
}
