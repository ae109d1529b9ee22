// The command's entry: --help, --version, and where options come from.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { didYouMean, editDistance } from '../../src/cli/main.js';
import { readConfigFile } from '../../src/options/config-file.js';
import { CLI_PATH } from '../../src/processes/path.js';

const dtrain = (args: string[]) =>
  spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout: 20_000 });

test('--help lists the commands', () => {
  const r = dtrain(['--help']);
  assert.equal(r.status, 0);
  for (const c of ['coordinator', 'worker', 'launch', 'bench', 'experiment momentum', 'sweep', 'doctor'])
    assert.match(r.stdout, new RegExp(c));
});

test('--version prints the version and the commit it was built from', () => {
  const r = dtrain(['--version']);
  assert.equal(r.status, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)\)$/);
});

const configDir = mkdtempSync(join(tmpdir(), 'dtrain-config-'));
/** A coordinator that gives up at once: what it says about its run is what the options resolved to. */
const run = (args: string[], env: Record<string, string>) =>
  spawnSync(
    process.execPath,
    [
      CLI_PATH,
      'coordinator',
      '--port',
      '0',
      '--wait-timeout',
      '1',
      '--out',
      join(configDir, `r${Math.random()}`),
      ...args,
    ],
    {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, DTRAIN_CACHE: join(configDir, 'cache'), ...env },
    },
  );
const batch = (r: ReturnType<typeof run>) => /global batch (\d+) = (\d+) workers/.exec(r.stderr)?.slice(1).join(' x ');

test('options come from flags, then DTRAIN_* variables, then --config, then defaults', () => {
  const dir = configDir;
  const config = join(dir, 'run.json');
  writeFileSync(
    config,
    JSON.stringify({ 'batch-size': 48, model: 'tiny-cnn', workers: 3, 'train-size': 400, 'test-size': 50 }),
  );
  assert.equal(batch(run(['--config', config], {})), '48 x 3', 'the file');
  assert.equal(
    batch(run(['--config', config], { DTRAIN_BATCH_SIZE: '96' })),
    '96 x 3',
    'the environment over the file',
  );
  assert.equal(
    batch(run(['--config', config, '--batch-size', '30'], { DTRAIN_BATCH_SIZE: '96' })),
    '30 x 3',
    'the flag over both',
  );
  const bad = run(['--config', join(dir, 'missing.json')], {});
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--config .*missing\.json: ENOENT[\s\S]*hint: give a YAML file/);
});

test('a DTRAIN_* variable that is not an option of this command is ignored (one environment serves every command); a flag is not', () => {
  // DTRAIN_EPOCHS belongs to training commands: `worker` (what a launcher's children run) has no --epochs
  const r = spawnSync(
    process.execPath,
    [CLI_PATH, 'worker', '--connect', 'ws://127.0.0.1:9', '--give-up', '0.2', '--quiet'],
    {
      encoding: 'utf8',
      timeout: 20_000,
      env: { ...process.env, DTRAIN_EPOCHS: '3', DTRAIN_LR_SCHEDULE: 'cosine' },
    },
  );
  assert.doesNotMatch(r.stderr, /Unknown argument/);
  assert.match(r.stderr, /no coordinator|gave up|ECONNREFUSED/i, r.stderr);
  const flag = dtrain(['worker', '--connect', 'ws://127.0.0.1:9', '--epochs', '3']);
  assert.equal(flag.status, 2);
  assert.match(flag.stderr, /Unknown argument: epochs/);
  // an unknown flag beside an unknown variable: the flag is refused by itself
  const beside = spawnSync(process.execPath, [CLI_PATH, 'worker', '--connect', 'ws://127.0.0.1:9', '--epochs', '3'], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, DTRAIN_LR_SCHEDULE: 'cosine' },
  });
  assert.equal(beside.status, 2);
  assert.match(beside.stderr, /Unknown argument: epochs\n/);
  // an option of this command beside one of another command: the first still applies
  const both = run(['--model', 'tiny-cnn', '--workers', '3', '--train-size', '400', '--test-size', '50'], {
    DTRAIN_BATCH_SIZE: '96',
    DTRAIN_CONNECT: 'ws://x',
  });
  assert.doesNotMatch(both.stderr, /Unknown argument/);
  assert.equal(batch(both), '96 x 3');
});

test('--config run.yaml: YAML options, the same precedence; malformed YAML is refused with the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dtrain-yaml-'));
  const config = join(dir, 'run.yaml');
  writeFileSync(config, '# a run\nbatch-size: 48\nmodel: tiny-cnn\nworkers: 3\ntrain-size: 400\ntest-size: 50\n');
  assert.deepEqual(readConfigFile(config), {
    'batch-size': 48,
    model: 'tiny-cnn',
    workers: 3,
    'train-size': 400,
    'test-size': 50,
  });
  assert.equal(
    batch(run(['--config', config], { DTRAIN_BATCH_SIZE: '96' })),
    '96 x 3',
    'the environment over the file',
  );
  writeFileSync(config, 'batch-size: [48\n');
  const bad = run(['--config', config], {});
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--config .*run\.yaml: .*line 2/);
  writeFileSync(config, '- 1\n- 2\n');
  assert.match(run(['--config', config], {}).stderr, /is not a mapping of options/);
});

test('a mistyped option gets a "did you mean"; help wraps at word boundaries', () => {
  const r = dtrain(['launch', '--batch-sise', '3', '--lrr', '0.1', '--frobnicate', '2']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /did you mean --batch-size \(not --batch-sise\)\?/);
  assert.match(r.stderr, /did you mean --lr \(not --lrr\)\?/);
  assert.doesNotMatch(r.stderr, /not --frobnicate/);
  const help = dtrain(['launch', '--help']).stdout;
  assert.match(help, /validation_split/, 'no word cut in two at the wrap');
  assert.match(help, /Examples:/);
});

test('edit distance and suggestions by hand', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('lr', 'lrr'), 1);
  assert.equal(didYouMean('epoch', ['epochs', 'eval-every']), 'did you mean --epochs (not --epoch)?');
  assert.equal(didYouMean('zzz', ['epochs']), '');
});

test('launch --port without --hostfile listens there, on loopback (it was ignored)', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const out = join(configDir, 'port-run');
  const launched = spawnSync(
    process.execPath,
    [
      CLI_PATH,
      'launch',
      '--workers',
      '1',
      '--model',
      'tiny-cnn',
      '--train-size',
      '200',
      '--test-size',
      '20',
      '--batch-size',
      '32',
      '--max-steps',
      '2',
      '--port',
      String(port),
      '--out',
      out,
    ],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, DTRAIN_CACHE: join(configDir, 'cache') } },
  );
  assert.equal(launched.status, 0, launched.stderr);
  assert.match(launched.stderr, new RegExp(`listening on ws://127\\.0\\.0\\.1:${port} `));
});
