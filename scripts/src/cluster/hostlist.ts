// Slurm hostlist expressions (SLURM_STEP_NODELIST, SLURM_JOB_NODELIST): "gpu[01-04,07],login1" ->
// gpu01 gpu02 gpu03 gpu04 gpu07 login1. Ranges keep their zero padding; several bracket groups in one
// name expand as a product ("r[1-2]n[1-2]" -> r1n1 r1n2 r2n1 r2n2), as `scontrol show hostnames` does.

import { TrainerError } from '@dtrain/common';

/** More hosts than any Slurm step has: an expression past this is a mistake, not a cluster. */
export const MAX_HOSTS = 65_536;

const bad = (expr: string, why: string): TrainerError =>
  new TrainerError('ERR_BAD_CONFIG', `hostlist "${expr.slice(0, 200)}" ${why}`, {
    hint: 'use Slurm syntax, e.g. gpu[01-04,07],login1 (scontrol show hostnames expands it)',
  });

/** Split on the commas that are not inside brackets. */
function topLevelItems(expr: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    if (depth < 0 || depth > 1) throw bad(expr, 'has unbalanced or nested brackets');
    if (c === ',' && depth === 0) {
      items.push(expr.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw bad(expr, 'has an unclosed bracket');
  items.push(expr.slice(start));
  return items.map((s) => s.trim()).filter(Boolean);
}

/** "01-04,07" -> ["01","02","03","04","07"]. */
function expandRanges(body: string, expr: string): string[] {
  const out: string[] = [];
  for (const part of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw bad(expr, `has "${part}" inside brackets (expected N or N-M)`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw bad(expr, `has the descending range ${part}`);
    if (out.length + hi - lo + 1 > MAX_HOSTS) throw bad(expr, `names more than ${MAX_HOSTS} hosts`);
    const width = m[1]!.length;
    for (let n = lo; n <= hi; n++) out.push(String(n).padStart(width, '0'));
  }
  return out;
}

function expandItem(item: string, expr: string): string[] {
  const open = item.indexOf('[');
  if (open < 0) return [item];
  const close = item.indexOf(']', open);
  const head = item.slice(0, open);
  const tails = expandItem(item.slice(close + 1), expr);
  const out: string[] = [];
  for (const n of expandRanges(item.slice(open + 1, close), expr)) {
    for (const t of tails) {
      out.push(head + n + t);
      if (out.length > MAX_HOSTS) throw bad(expr, `names more than ${MAX_HOSTS} hosts`);
    }
  }
  return out;
}

/** Every host a hostlist expression names, in order. */
export function expandHostlist(expr: string): string[] {
  const hosts = topLevelItems(expr).flatMap((item) => expandItem(item, expr));
  if (hosts.length === 0) throw bad(expr, 'names no host');
  if (hosts.length > MAX_HOSTS) throw bad(expr, `names more than ${MAX_HOSTS} hosts`);
  return hosts;
}
