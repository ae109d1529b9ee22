// Archive a finished run directory for the repository: metrics.jsonl -> metrics.jsonl.gz with each step
// record cut to the fields reports and steps-to-target read, its numbers to 6 significant digits (all
// eval and event records kept whole), checkpoints and TensorBoard event files removed (the same numbers
// as the metrics, several MB a long run). dtrain reads metrics.jsonl.gz when metrics.jsonl is gone.
// Usage: node bench/archive-run.mjs RUN_DIR...
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

const KEEP = ['type', 'step', 'epoch', 'loss', 'accuracy', 'lr', 'samples', 'workers', 'stepMs', 'waitMs', 'coordMs', 'bytesIn', 'bytesOut', 'gradNormSq', 'traceSigma', 'bSimple', 'time', 'mesh'];
for (const dir of process.argv.slice(2)) {
  const plain = join(dir, 'metrics.jsonl');
  const gz = `${plain}.gz`;
  const text = existsSync(plain) ? readFileSync(plain, 'utf8') : existsSync(gz) ? gunzipSync(readFileSync(gz)).toString('utf8') : null;
  if (text === null) continue;
  const lines = text.split('\n').filter(Boolean).map((l) => {
    const r = JSON.parse(l);
    // step records: the fields reports read, numbers to 6 significant digits (timings to the microsecond)
    const round = (v) => (typeof v === 'number' && !Number.isInteger(v) ? Number(v.toPrecision(6)) : v);
    return JSON.stringify(r.type === 'step' ? Object.fromEntries(KEEP.filter((k) => k in r).map((k) => [k, round(r[k])])) : r);
  });
  writeFileSync(gz, gzipSync(lines.join('\n') + '\n', { level: 9 }));
  rmSync(plain, { force: true });
  rmSync(join(dir, 'checkpoints'), { recursive: true, force: true });
  for (const f of readdirSync(dir)) if (f.startsWith('events.out.tfevents.')) rmSync(join(dir, f), { force: true });
  process.stdout.write(`archived ${dir}: ${lines.length} records\n`);
}
