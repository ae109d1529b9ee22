// The command's entry: --help and --version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLI_PATH } from '../../src/cli/path.js';

const dtrain = (args: string[]) => spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 20_000 });

test('--help lists the commands', () => {
  const r = dtrain(['--help']);
  assert.equal(r.status, 0);
  for (const c of ['coordinator', 'worker', 'launch', 'bench', 'experiment momentum', 'sweep', 'doctor']) assert.match(r.stdout, new RegExp(c));
});

test('--version prints the version and the commit it was built from', () => {
  const r = dtrain(['--version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)$/);
});
