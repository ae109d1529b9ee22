// The workspace stays honest (STYLE.md #14): tsconfig references match workspace:* dependencies, the
// shared core has no sockets, timers or process control, and files stay within the size budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PACKAGES = ['packages/common', 'packages/coordinator', 'packages/worker', 'scripts'];
const byName = new Map(PACKAGES.map((p) => [JSON.parse(readFileSync(join(ROOT, p, 'package.json'), 'utf8')).name as string, p]));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

test('tsconfig references match workspace:* dependencies (tests\' devDependencies included)', () => {
  for (const p of PACKAGES) {
    const pkg = JSON.parse(readFileSync(join(ROOT, p, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const deps = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(([, v]) => v === 'workspace:*').map(([k]) => byName.get(k)).sort();
    const ts = JSON.parse(readFileSync(join(ROOT, p, 'tsconfig.json'), 'utf8')) as { references?: { path: string }[] };
    const refs = (ts.references ?? []).map((r) => join(p, r.path)).sort();
    assert.deepEqual(refs, deps, `${p}: references ${refs} vs workspace deps ${deps}`);
  }
});

test('common: the core has no sockets, timers, files or process control and never imports files/; no other package', () => {
  const always = [/from 'ws'/, /setTimeout|setInterval/, /node:(net|http|https|child_process)/, /@dtrain\/(coordinator|worker|scripts)/];
  for (const f of sources('packages/common/src')) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    const core = !f.startsWith('packages/common/src/files/');
    for (const bad of [...always, ...(core ? [/node:fs/, /\bprocess\./, /from '\.\/files\//] : [])]) {
      assert.ok(!bad.test(text), `${f} matches ${bad}`);
    }
  }
});

test('source files stay under 400 lines', () => {
  for (const p of PACKAGES) {
    for (const f of sources(join(p, 'src'))) {
      const lines = readFileSync(join(ROOT, f), 'utf8').split('\n').length;
      assert.ok(lines <= 400, `${f} has ${lines} lines`);
    }
  }
});
