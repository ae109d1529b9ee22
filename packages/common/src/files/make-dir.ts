// `mkdir -p` that cannot spin. Node 20's mkdirSync(path, { recursive: true }) loops forever at full CPU
// when a parent exists but cannot hold children (measured: `mkdirSync('/proc/x', { recursive: true })`
// never returns on Node 20.20; the same walk bug is described in oven-sh/bun#36162). This walks forward
// from the root once and stops at the first error, so a bad --out or cache path fails with its reason.

import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function makeDir(path: string): void {
  const prefixes: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    prefixes.unshift(p);
    if (dirname(p) === p) break;
  }
  for (const p of prefixes) {
    try {
      mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const last = prefixes[prefixes.length - 1]!;
  if (!statSync(last).isDirectory()) {
    throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${last}'`), { code: 'ENOTDIR', path: last });
  }
}
