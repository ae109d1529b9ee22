// dtrain as cluster users run it: installed from its tarball, started by the engines they already have.
// `launch --hostfile` across namespace hosts through real sshd; `mpirun` (Open MPI) and Slurm (slurmctld,
// slurmd, munge on this machine) in the Slurm test file. Debian packages are installed when missing.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readMetrics } from '@dtrain/coordinator';
import { NetHarness, netnsUnavailable, waitUntil } from '../../src/bench/netns.js';
import { tempDir } from './harness.js';
import { type SshSetup, startSshd } from './sshd.js';
import { ensureDebianPackages, installedDtrain } from './system.js';

const unavailable =
  netnsUnavailable() ?? ensureDebianPackages({ '/usr/sbin/sshd': 'openssh-server', '/usr/bin/ssh': 'openssh-client' });
let net: NetHarness;
let ssh: SshSetup;
let dtrain = '';
const dir = tempDir('engines');

before(() => {
  if (unavailable) return;
  dtrain = installedDtrain();
  net = new NetHarness(['coord', 'h1', 'h2', 'h3']);
  ssh = startSshd(net, [net.host('h1'), net.host('h2')], join(dir, 'ssh')); // h3 runs no sshd
});
after(async () => {
  await net?.close();
});

test(
  'the installed command prints its version and the commit it was built from',
  { skip: unavailable ?? false },
  () => {
    const commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
    assert.match(
      execFileSync(dtrain, ['--version'], { encoding: 'utf8' }),
      new RegExp(`^0\\.1\\.0 \\(commit ${commit}(-dirty)?\\)`),
    );
  },
);

const RUN = [
  '--model',
  'tiny-cnn',
  '--train-size',
  '960',
  '--test-size',
  '200',
  '--batch-size',
  '48',
  '--backend',
  'wasm',
];

function hostfileLaunch(hostfile: string, out: string, extra: string[] = ['--epochs', '2']) {
  return net.spawn(net.host('coord'), [
    dtrain,
    'launch',
    '--hostfile',
    hostfile,
    '--advertise',
    net.host('coord').ip,
    '--port',
    '7071',
    '--remote-command',
    dtrain,
    ...ssh.options.flatMap((o) => ['--ssh-option', o]),
    '--out',
    out,
    ...RUN,
    ...extra,
  ]);
}

/** Processes other than sshd still running inside a host. */
function leftovers(host: string): string[] {
  const pids = net
    .exec(net.host(host), ['ip', 'netns', 'pids', net.host(host).ns])
    .split('\n')
    .filter(Boolean);
  return pids
    .map((p) => {
      try {
        return execFileSync('ps', ['-o', 'args=', '-p', p], { encoding: 'utf8' }).trim();
      } catch {
        return '';
      }
    })
    .filter((a) => a && !a.includes('sshd'));
}

test(
  'launch --hostfile: a worker on one host and a relay of two on another, over ssh; host-prefixed logs; nothing left behind',
  { skip: unavailable ?? false, timeout: 120_000 },
  async () => {
    const hostfile = join(dir, 'hosts');
    writeFileSync(hostfile, `# two hosts, three workers\n${net.host('h1').ip} slots=1\n${net.host('h2').ip} slots=2\n`);
    const out = join(dir, 'hostfile-run');
    const p = hostfileLaunch(hostfile, out);
    assert.equal(await p.exited, 0, p.lines.slice(-15).join('\n'));
    const s = readMetrics(out).filter((r) => r.type === 'step');
    assert.equal(s.length, 2 * Math.floor((960 - 192) / 48));
    assert.ok(
      s.every((r) => r.type === 'step' && r.workers === 2 && r.samples === 48),
      "h1's worker and h2's relay (for 2 workers) in every step",
    );
    assert.ok(
      p.lines.some((l) => l.includes('relay: 2 local worker(s) ready')),
      'h2 ran a relay in front of its 2 workers',
    );
    assert.ok(
      p.lines.some((l) => l.startsWith(`[${net.host('h2').ip}] `)),
      'remote lines carry their host',
    );
    await waitUntil('remote workers gone', () => leftovers('h1').length === 0 && leftovers('h2').length === 0, 10_000);
  },
);

test(
  'launch --hostfile: Ctrl-C stops the run with 130 and the remote workers with it',
  { skip: unavailable ?? false, timeout: 120_000 },
  async () => {
    const hostfile = join(dir, 'hosts-long');
    writeFileSync(hostfile, `${net.host('h1').ip} slots=2\n`);
    const out = join(dir, 'hostfile-interrupted');
    const p = hostfileLaunch(hostfile, out, ['--epochs', '500']);
    await waitUntil('training', () => readMetrics(out).some((r) => r.type === 'step'), 60_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${p.lines.slice(-15).join('\n')}`);
    });
    p.child.kill('SIGINT');
    assert.equal(await p.exited, 130, p.lines.slice(-10).join('\n'));
    await waitUntil('remote workers gone', () => leftovers('h1').length === 0, 10_000);
  },
);

test(
  'launch --hostfile killed with -9: its ssh sessions close and the remote workers exit by themselves',
  { skip: unavailable ?? false, timeout: 120_000 },
  async () => {
    const hostfile = join(dir, 'hosts-killed');
    writeFileSync(hostfile, `${net.host('h2').ip} slots=2\n`);
    const out = join(dir, 'hostfile-killed');
    const p = hostfileLaunch(hostfile, out, ['--epochs', '500']);
    await waitUntil('training', () => readMetrics(out).some((r) => r.type === 'step'), 60_000);
    assert.ok(
      leftovers('h2').some((a) => a.includes('worker')),
      'remote workers running',
    );
    p.child.kill('SIGKILL');
    await waitUntil(
      'remote workers and ssh clients gone',
      () => leftovers('h2').length === 0 && leftovers('coord').length === 0,
      15_000,
    );
  },
);

test(
  "launch --hostfile with a host that refuses ssh fails within seconds, with ssh's reason",
  { skip: unavailable ?? false, timeout: 60_000 },
  async () => {
    const hostfile = join(dir, 'hosts-bad');
    writeFileSync(hostfile, `${net.host('h3').ip} slots=2\n`);
    const t0 = Date.now();
    const p = hostfileLaunch(hostfile, join(dir, 'hostfile-refused'));
    assert.equal(await p.exited, 1);
    assert.ok(Date.now() - t0 < 30_000, `failed after ${Date.now() - t0} ms`);
    assert.ok(
      p.lines.some((l) => /the one worker \(or relay\) this command started exited .*Connection refused/.test(l)),
      p.lines.slice(-6).join('\n'),
    );
  },
);

test(
  'launch --hostfile --no-relays: every remote worker connects to the coordinator itself',
  { skip: unavailable ?? false, timeout: 120_000 },
  async () => {
    const hostfile = join(dir, 'hosts-flat');
    writeFileSync(hostfile, `${net.host('h2').ip} slots=2\n`);
    const out = join(dir, 'hostfile-flat');
    const p = hostfileLaunch(hostfile, out, ['--epochs', '1', '--no-relays']);
    assert.equal(await p.exited, 0, p.lines.slice(-15).join('\n'));
    assert.ok(
      readMetrics(out)
        .filter((r) => r.type === 'step')
        .every((r) => r.type === 'step' && r.workers === 2),
    );
  },
);

test(
  'doctor --hosts over ssh: each reachable host probes its link, one without sshd is named, every mode is predicted',
  { skip: unavailable ?? false, timeout: 120_000 },
  async () => {
    const hostfile = join(dir, 'doctor-hosts');
    writeFileSync(hostfile, ['h1', 'h2', 'h3'].map((h) => `${net.host(h).ip} slots=2`).join('\n') + '\n');
    const p = net.spawn(net.host('coord'), [
      dtrain,
      'doctor',
      '--hosts',
      hostfile,
      '--advertise',
      net.host('coord').ip,
      '--remote-command',
      dtrain,
      '--probe-bytes',
      String(2 * 1024 * 1024),
      ...ssh.options.flatMap((o) => ['--ssh-option', o]),
    ]);
    assert.equal(await p.exited, 0, p.lines.join('\n'));
    for (const h of ['h1', 'h2'])
      assert.ok(
        p.lines.some((l) =>
          new RegExp(`^${net.host(h).ip} \\(2 workers\\): round trip [\\d.]+ ms, up [\\d.]+ Mbit/s`).test(l),
        ),
        p.lines.join('\n'),
      );
    assert.ok(p.lines.some((l) => l.startsWith(`${net.host('h3').ip}: no probe (`)));
    assert.equal(p.lines.filter((l) => /^ {2}(star|relays), (fp32|int8) both ways: [\d.]+ ms/.test(l)).length, 4);
  },
);
