// The workspace stays honest (STYLE.md #14, #15): tsconfig references match workspace:* dependencies, the
// shared core has no sockets, timers, files or process control, and files and functions stay within
// their size budgets (400 and 60 lines).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PACKAGES = ['packages/common', 'packages/coordinator', 'packages/worker', 'scripts'];
const byName = new Map(
  PACKAGES.map((p) => [JSON.parse(readFileSync(join(ROOT, p, 'package.json'), 'utf8')).name as string, p]),
);

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

test("tsconfig references match workspace:* dependencies (tests' devDependencies included)", () => {
  for (const p of PACKAGES) {
    const pkg = JSON.parse(readFileSync(join(ROOT, p, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    const deps = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })
      .filter(([, v]) => v === 'workspace:*')
      .map(([k]) => byName.get(k))
      .sort();
    const ts = JSON.parse(readFileSync(join(ROOT, p, 'tsconfig.json'), 'utf8')) as { references?: { path: string }[] };
    const refs = (ts.references ?? []).map((r) => join(p, r.path)).sort();
    assert.deepEqual(refs, deps, `${p}: references ${refs} vs workspace deps ${deps}`);
  }
});

test('common: the core has no sockets, timers, files or process control and never imports files/; no other package', () => {
  const always = [
    /from 'ws'/,
    /setTimeout|setInterval/,
    /node:(net|http|https|child_process)/,
    /@dtrain\/(coordinator|worker|scripts)/,
  ];
  for (const f of sources('packages/common/src')) {
    const text = readFileSync(join(ROOT, f), 'utf8');
    const core = !f.startsWith('packages/common/src/files/');
    for (const bad of [...always, ...(core ? [/node:fs/, /\bprocess\./, /from '\.\/files\//] : [])]) {
      assert.ok(!bad.test(text), `${f} matches ${bad}`);
    }
  }
});

/** Every source folder the budgets cover: each package's src/ and the worker's AssemblyScript kernels. */
const SOURCE_DIRS = [...PACKAGES.map((p) => join(p, 'src')), 'packages/worker/assembly'];

test('source files stay under 400 lines', () => {
  for (const f of SOURCE_DIRS.flatMap(sources)) {
    const lines = readFileSync(join(ROOT, f), 'utf8').split('\n').length;
    assert.ok(lines <= 400, `${f} has ${lines} lines`);
  }
});

/** Functions (declarations, methods, arrows) longer than `max` lines, as "file:line name (n lines)". */
function longFunctions(f: string, max: number): string[] {
  const sf = ts.createSourceFile(f, readFileSync(join(ROOT, f), 'utf8'), ts.ScriptTarget.ES2022, true);
  const found: string[] = [];
  const visit = (n: ts.Node): void => {
    if (ts.isFunctionLike(n) && 'body' in n && n.body) {
      const first = sf.getLineAndCharacterOfPosition(n.getStart(sf)).line;
      const lines = sf.getLineAndCharacterOfPosition(n.end).line - first + 1;
      const name = 'name' in n && n.name ? n.name.getText(sf) : '(anonymous)';
      if (lines > max) found.push(`${f}:${first + 1} ${name} (${lines} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

test('functions stay under 60 lines (src/ and assembly/)', () => {
  assert.deepEqual(
    SOURCE_DIRS.flatMap(sources).flatMap((f) => longFunctions(f, 60)),
    [],
  );
});

test('the function budget sees a long function (the check itself can fail)', () => {
  assert.deepEqual(longFunctions('scripts/test/fixtures/long-function.ts', 60), [
    'scripts/test/fixtures/long-function.ts:3 tooLong (63 lines)',
  ]);
});

/** Source files ARCHITECTURE.md does not name: each file of a package's src/ by name, or its sub-folder by path. */
function unmapped(map: string): string[] {
  return PACKAGES.flatMap((p) => sources(join(p, 'src'))).filter((f) => {
    const dir = dirname(f);
    const named = new RegExp(`\\b${basename(f).replace(/\./g, '\\.')}\\b`).test(map);
    return !named && (dir.endsWith('/src') || !map.includes(`${dir}/`));
  });
}

test('ARCHITECTURE.md names every source file (or its folder): the map stays true', () => {
  assert.deepEqual(unmapped(readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8')), []);
});

test('the map check sees a file the map leaves out (the check itself can fail)', () => {
  assert.ok(unmapped('').includes('packages/coordinator/src/coordinator.ts'));
});

/** Lines wider than 160 columns in TypeScript anywhere in the workspace (the formatter keeps code at 120). */
function wideLines(): string[] {
  const dirs = [...PACKAGES.flatMap((p) => [join(p, 'src'), join(p, 'test')]), 'packages/worker/assembly'];
  return dirs.flatMap(sources).flatMap((f) =>
    readFileSync(join(ROOT, f), 'utf8')
      .split('\n')
      .flatMap((line, i) => (line.length > 160 ? [`${f}:${i + 1} (${line.length} columns)`] : [])),
  );
}

test('no line is wider than 160 columns (strings and comments the formatter cannot break included)', () => {
  assert.deepEqual(wideLines(), []);
});

test('test tiers: every test file is in exactly one of unit, integration, hosts; every listed file exists', () => {
  const files = (tier: string): string[] =>
    execFileSync(process.execPath, ['scripts/test-files.mjs', tier], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  const [unit, integration, hosts, all] = ['unit', 'integration', 'hosts', 'all'].map(files) as [
    string[],
    string[],
    string[],
    string[],
  ];
  assert.deepEqual([...unit, ...integration, ...hosts].sort(), all);
  const named = readFileSync(join(ROOT, 'scripts/test-files.mjs'), 'utf8').match(/'[a-z/.-]+\.test\.js'/g) ?? [];
  for (const f of named) assert.ok(all.includes(f.slice(1, -1)), `${f} in scripts/test-files.mjs is no test file`);
});
