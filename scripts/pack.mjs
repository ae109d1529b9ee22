// `npm run pack`: one tarball that installs dtrain on a host with `npm install -g dtrain-<version>.tgz`
// (no clone, no pnpm, no build there). The workspace packages travel inside it as bundled dependencies
// with their built dist/ (layout unchanged, so relative paths such as kernels.wasm, kernels-fma.wasm and version.json
// hold); third-party dependencies are ordinary dependencies at the catalog's versions, fetched by npm.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'pack');
const stage = join(outDir, 'stage');
const readJson = (p) => JSON.parse(readFileSync(join(root, p), 'utf8'));

/** The catalog block of pnpm-workspace.yaml: `name: version` lines. */
function catalog() {
  const text = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const block = text.split(/^catalog:\s*$/m)[1] ?? '';
  const out = {};
  for (const line of block.split('\n')) {
    const m = /^\s+"?([^":]+)"?:\s*(\S+)\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const versions = catalog();
const pin = (deps = {}) => Object.fromEntries(Object.entries(deps).filter(([n]) => !n.startsWith('@dtrain/')).map(([n, v]) => [n, v === 'catalog:' ? versions[n] : v]));
const pkgs = { common: 'packages/common', coordinator: 'packages/coordinator', worker: 'packages/worker' };
const scripts = readJson('scripts/package.json');
const worker = readJson('packages/worker/package.json');

if (!existsSync(join(root, 'scripts/dist/version.json'))) throw new Error('build first: npm run build');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
let dependencies = pin(scripts.dependencies);
for (const [name, dir] of Object.entries(pkgs)) {
  const pj = readJson(`${dir}/package.json`);
  dependencies = { ...dependencies, ...pin(pj.dependencies) };
  const dest = join(stage, 'node_modules', '@dtrain', name);
  cpSync(join(root, dir, 'dist', 'src'), join(dest, 'dist', 'src'), { recursive: true });
  if (name === 'worker') for (const f of ['kernels.wasm', 'kernels-fma.wasm']) cpSync(join(root, dir, 'dist', f), join(dest, 'dist', f));
  writeFileSync(join(dest, 'package.json'), JSON.stringify({ name: pj.name, version: pj.version, type: 'module', exports: pj.exports, types: pj.types }, null, 2));
}
cpSync(join(root, 'scripts/dist/src'), join(stage, 'scripts/dist/src'), { recursive: true });
cpSync(join(root, 'scripts/dist/version.json'), join(stage, 'scripts/dist/version.json'));
for (const f of ['README.md', 'SECURITY.md', 'LICENSE']) if (existsSync(join(root, f))) cpSync(join(root, f), join(stage, f));
const { version, commit } = JSON.parse(readFileSync(join(root, 'scripts/dist/version.json'), 'utf8'));
writeFileSync(join(stage, 'package.json'), JSON.stringify({
  name: 'dtrain', version, description: `dtrain ${version} (commit ${commit}): synchronous data-parallel CNN training over WebSockets`,
  type: 'module', bin: { dtrain: 'scripts/dist/src/cli.js' }, engines: { node: '>=20' },
  // bundled packages must also be dependencies for npm to pack them
  dependencies: { ...dependencies, ...Object.fromEntries(Object.keys(pkgs).map((n) => [`@dtrain/${n}`, readJson(`${pkgs[n]}/package.json`).version])) },
  optionalDependencies: pin(worker.optionalDependencies),
  bundleDependencies: Object.keys(pkgs).map((n) => `@dtrain/${n}`),
}, null, 2));
const name = execFileSync('npm', ['pack', '--pack-destination', outDir], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
rmSync(stage, { recursive: true, force: true });
process.stdout.write(`${join(outDir, name)}\n`);
