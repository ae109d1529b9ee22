// Build step: record the version and the git commit the build came from in scripts/dist/version.json,
// for `dtrain --version` (a packed or copied build has no .git to ask at run time).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { version } = JSON.parse(readFileSync(join(here, 'package.json'), 'utf8'));
let commit = 'unknown';
try {
  commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: here, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  if (dirty) commit += '-dirty';
} catch {
  /* not a git checkout */
}
mkdirSync(join(here, 'dist'), { recursive: true });
writeFileSync(join(here, 'dist', 'version.json'), JSON.stringify({ version, commit }) + '\n');
