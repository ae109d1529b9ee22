// What the cluster tests need from the machine: Debian packages (installed on demand; CI is root on
// Debian), and dtrain installed from its packed tarball the way a cluster host installs it.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/** Install the Debian packages whose commands are missing; returns why it could not, or null. */
export function ensureDebianPackages(need: Record<string, string>): string | null {
  const missing = Object.entries(need)
    .filter(([cmd]) => !existsSync(cmd))
    .map(([, pkg]) => pkg);
  if (missing.length === 0) return null;
  if (process.getuid?.() !== 0) return `needs ${missing.join(', ')} (root installs them; CI is root)`;
  const install = ['install', '-y', '--no-install-recommends', ...new Set(missing)];
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  try {
    run('apt-get', install, env);
  } catch {
    try {
      run('apt-get', ['update'], env);
      run('apt-get', install, env);
    } catch (e) {
      return `could not install ${missing.join(', ')}: ${String((e as { stderr?: string }).stderr ?? e).slice(-300)}`;
    }
  }
  return null;
}

/**
 * `npm run pack`'s tarball installed with `npm install -g --prefix` into a directory keyed by its content
 * (reused by later test files of the same build); returns the dtrain command's path.
 */
export function installedDtrain(): string {
  const tarball = run(process.execPath, [join(ROOT, 'scripts/pack.mjs')])
    .trim()
    .split('\n')
    .pop()!;
  const key = createHash('sha256').update(readFileSync(tarball)).digest('hex').slice(0, 12);
  const prefix = join(tmpdir(), `dtrain-installed-${key}`);
  const bin = join(prefix, 'bin', 'dtrain');
  if (existsSync(bin)) return bin;
  run('npm', ['install', '-g', '--prefix', prefix, '--omit=optional', '--no-audit', '--no-fund', tarball]);
  return bin;
}
