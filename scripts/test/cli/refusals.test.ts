// Bad values are refused before anything starts: exit status 2, the value named, a hint, no stack.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_PATH } from '../../src/processes/path.js';
import { tempDir } from '../integration/harness.js';

process.env['DTRAIN_CACHE'] = tempDir('cache');
const dtrain = (args: string[], timeout = 60_000) =>
  spawnSync(process.execPath, [CLI_PATH, ...args], { encoding: 'utf8', timeout });

function refused(args: string[], message: RegExp): string {
  const r = dtrain(args, 20_000);
  assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  return r.stderr;
}

test('a global batch smaller than the worker count names both and the fix', () => {
  const err = refused(['launch', '--workers', '4', '--batch-size', '2'], /--batch-size 2 is smaller than --workers 4/);
  assert.match(err, /hint: use --batch-size 4 or more/);
});

test('momentum outside [0, 1) is refused', () => {
  refused(['coordinator', '--momentum', '1.5'], /momentum 1\.5 is outside \[0, 1\)/);
});

test('nonsense optimizer hyperparameters are refused with exit 2: beta >= 1, eps <= 0, a negative clip, a clash', () => {
  refused(['coordinator', '--optimizer', 'adam', '--beta1', '1'], /beta1 1 is outside \[0, 1\)/);
  refused(['coordinator', '--optimizer', 'adamw', '--beta2', '1.5'], /beta2 1\.5 is outside \[0, 1\)/);
  refused(['coordinator', '--optimizer', 'lamb', '--eps', '0'], /eps 0 must be in \(0, 1\)/);
  refused(['coordinator', '--clip-grad-norm', '-1'], /--clip-grad-norm -1 must be a norm >= 0/);
  refused(['coordinator', '--optimizer', 'lars', '--trust-coefficient', '0'], /trust coefficient 0/);
  refused(['coordinator', '--optimizer', 'momentum', '--momentum', '0'], /--optimizer momentum needs --momentum > 0/);
  refused(['coordinator', '--optimizer', 'adamw', '--nesterov'], /takes no --nesterov/);
});

test('an unknown choice lists the valid ones', () => {
  refused(['launch', '--lr-schedule', 'zigzag'], /Invalid values:[\s\S]*lr-schedule[\s\S]*constant/);
});

test('a worker address without ws://, or with a malformed host or port, is refused with an example', () => {
  refused(
    ['worker', '--connect', 'localhost:7070'],
    /not a ws:\/\/ or wss:\/\/ address\n  hint: use e\.g\. ws:\/\/10\.0\.0\.1:7070/,
  );
  for (const bad of ['ws://h:99999', 'ws://h:abc', 'wss://[::1'])
    refused(['worker', '--connect', bad], /--connect ".*" is not a valid address \(host or port malformed\)/);
  refused(['relay', '--connect', 'ws://h:99999'], /--connect "ws:\/\/h:99999" is not a valid address/);
});

test('negative durations are refused: --give-up -1, --wait-timeout -1', () => {
  refused(['worker', '--connect', 'ws://127.0.0.1:9', '--give-up', '-1'], /--give-up -1 is not a duration/);
  refused(
    ['coordinator', '--wait-timeout', '-1', '--out', join(tempDir('wt'), 'r')],
    /--wait-timeout -1 is not a duration/,
  );
});

test("a TLS file that is not PEM, or a key that is not the certificate's, is refused naming the flags", () => {
  const d = tempDir('pem');
  writeFileSync(join(d, 'junk.pem'), 'not a certificate\n');
  refused(
    ['coordinator', '--tls-cert', join(d, 'junk.pem'), '--tls-key', join(d, 'junk.pem'), '--out', join(d, 'r')],
    /--tls-cert .*junk\.pem \/ --tls-key .*junk\.pem: /,
  );
  refused(['worker', '--connect', 'wss://127.0.0.1:9', '--tls-ca', join(d, 'junk.pem')], /--tls-ca .*junk\.pem: /);
  const openssl = (args: string[]): Buffer => execFileSync('openssl', args, { cwd: d, stdio: 'pipe' });
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'a.key',
    '-out',
    'a.pem',
    '-days',
    '1',
    '-subj',
    '/CN=a',
  ]);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'b.key']);
  refused(
    ['coordinator', '--tls-cert', join(d, 'a.pem'), '--tls-key', join(d, 'b.key'), '--out', join(d, 'r')],
    /--tls-cert .*a\.pem \/ --tls-key .*b\.key: .*(mismatch|values)/i,
  );
});

test('--out that already holds a run is refused unless resumed or overwritten', () => {
  const used = tempDir('used');
  writeFileSync(join(used, 'metrics.jsonl'), '{}\n');
  const err = refused(['launch', '--model', 'tiny-cnn', '--out', used], /already holds a run/);
  assert.match(err, /--resume|--overwrite/);
});

test('--overwrite with a config that fails its check leaves the old run in place (checked before anything is cleared)', () => {
  const used = tempDir('kept');
  writeFileSync(join(used, 'metrics.jsonl'), '{}\n');
  refused(['coordinator', '--momentum', '1.5', '--out', used, '--overwrite'], /momentum 1\.5 is outside \[0, 1\)/);
  assert.ok(existsSync(join(used, 'metrics.jsonl')), 'the run the bad command would have replaced is still there');
});

test('--resume with a YAML --config applies its options: a changed lr in the file is refused like the flag', () => {
  const out = tempDir('yaml-resume');
  dtrain(['coordinator', '--port', '0', '--wait-timeout', '1', '--model', 'tiny-cnn', '--out', out]); // step 0 only
  const yaml = join(out, '..', 'resume.yaml');
  writeFileSync(yaml, 'lr: 0.5\n');
  refused(
    ['coordinator', '--port', '0', '--wait-timeout', '1', '--resume', out, '--config', yaml],
    /--lr 0\.5 \(the run has 0\.01\)/,
  );
});

test('an --out that cannot be created says which and why', () => {
  const used = tempDir('file');
  writeFileSync(join(used, 'metrics.jsonl'), '{}\n');
  const args = [
    'coordinator',
    '--model',
    'tiny-cnn',
    '--train-size',
    '200',
    '--test-size',
    '16',
    '--batch-size',
    '32',
    '--out',
    join(used, 'metrics.jsonl', 'run'),
  ];
  refused(args, /cannot create the run directory .*ENOTDIR/);
});

test('--patience must be a number of epochs (a word is not silently "off")', () => {
  refused(['launch', '--patience', 'abc'], /--patience is not a number[\s\S]*hint: give epochs/);
  refused(['sweep', '--patience', '-1', '--local', '0'], /--patience -1 is not in \[0, 100000\] epochs/);
});

test('an unknown sweep list entry is refused with the choices', () => {
  refused(
    ['sweep', '--schedules', 'cosin', '--local', '0'],
    /--schedules: unknown "cosin"[\s\S]*hint: use a comma-separated list of: constant, step, exponential, cosine/,
  );
});

test('a port out of range or not a number is refused; nothing is left behind', () => {
  const out = join(tempDir('port'), 'run');
  refused(
    ['coordinator', '--port', '99999', '--out', out],
    /--port 99999 is not a TCP port[\s\S]*hint: use a whole number in 0\.\.65535/,
  );
  refused(['coordinator', '--port', 'abc', '--out', out], /--port is not a number/);
  assert.equal(existsSync(out), false);
});

test('a port in use is refused without leaving an empty run directory', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const out = join(tempDir('busy'), 'run');
  const r = spawnSync(
    process.execPath,
    [
      CLI_PATH,
      'coordinator',
      '--model',
      'tiny-cnn',
      '--train-size',
      '200',
      '--test-size',
      '16',
      '--batch-size',
      '32',
      '--port',
      String(port),
      '--out',
      out,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  blocker.close();
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE[\s\S]*hint: choose another --port/);
  assert.equal(existsSync(out), false);
});

test("a sweep refuses one run's option its grid replaces (it was silently ignored), and its help lists only the list", () => {
  const err = refused(
    ['sweep', '--batch-size', '32', '--local', '0'],
    /a sweep takes --batch-sizes \(a list\): --batch-size is for one run/,
  );
  assert.match(err, /hint: e\.g\. --batch-sizes/);
  refused(['sweep', '--seed=3', '--local', '0'], /a sweep takes --seeds \(a list\): --seed is for one run/);
  const help = dtrain(['sweep', '--help']).stdout;
  assert.match(help, /--batch-sizes/);
  assert.doesNotMatch(help, /^\s+--batch-size\s/m);
  assert.doesNotMatch(help, /^\s+--seed\s/m);
});

test('launch --gpus where the GPU backend does not load (this machine) is refused with --allow-cpu as the way on', () => {
  const err = refused(
    ['launch', '--workers', '1', '--gpus', '0'],
    /--gpus 0: the workers would train on the CPU \(@tensorflow\/tfjs-node-gpu/,
  );
  assert.match(err, /hint: .*--allow-cpu/);
});

test('an unknown dataset lists the choices; a folder dataset that is not there names it', () => {
  refused(
    ['launch', '--workers', '1', '--dataset', 'imagenet'],
    /unknown dataset "imagenet"[\s\S]*hint: choose one of: synthetic, cifar10, cifar100, folder:PATH/,
  );
  refused(
    ['launch', '--workers', '1', '--dataset', 'folder:/nonexistent/images'],
    /--dataset folder:\/nonexistent\/images: ENOENT/,
  );
});

test('a dashboard port in use is refused before the run directory or any worker exists', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const out = join(tempDir('busy-dash'), 'run');
  const r = spawnSync(
    process.execPath,
    [CLI_PATH, 'launch', '--workers', '1', '--dashboard-port', String(port), '--out', out],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  blocker.close();
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`--dashboard-port ${port} on 127\\.0\\.0\\.1: listen EADDRINUSE`));
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(existsSync(out), false);
});
