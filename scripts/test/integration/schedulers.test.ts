// dtrain cluster under the schedulers people run, for real on this machine: Slurm (slurmctld + slurmd +
// munge, a one-node cluster configured here, examples/slurm/dtrain.sbatch submitted with sbatch --wait)
// and Open MPI (mpirun launching `dtrain cluster` on 3 ranks). Packages are installed when missing.

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readMetrics } from '@dtrain/coordinator';
import { waitUntil } from '../../src/bench/netns.js';
import { tempDir } from './harness.js';
import { ensureDebianPackages, installedDtrain } from './system.js';

const SBATCH = fileURLToPath(new URL('../../../../examples/slurm/dtrain.sbatch', import.meta.url));
const RUN = [
  '--model',
  'tiny-cnn',
  '--train-size',
  '960',
  '--test-size',
  '200',
  '--batch-size',
  '48',
  '--epochs',
  '2',
  '--backend',
  'wasm',
];
const STEPS = 2 * Math.floor((960 - 192) / 48);
const dir = tempDir('schedulers');
const daemons: ChildProcess[] = [];
let dtrain = '';

const notRoot = process.getuid?.() === 0 ? null : 'needs root to run slurmd, munged and mpirun (CI is root)';
const slurmMissing =
  notRoot ??
  ensureDebianPackages({
    '/usr/sbin/slurmctld': 'slurmctld',
    '/usr/sbin/slurmd': 'slurmd',
    '/usr/sbin/munged': 'munge',
    '/usr/bin/sbatch': 'slurm-client',
  });
const mpiMissing = notRoot ?? ensureDebianPackages({ '/usr/bin/mpirun': 'openmpi-bin' });

function env(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${dirname(dtrain)}:${dirname(process.execPath)}:${process.env['PATH'] ?? ''}`,
    DTRAIN_TOKEN: 'scheduler-test-token',
    SLURM_CONF: join(dir, 'slurm.conf'),
  };
}

function slurmConf(): string {
  const host = hostname();
  return (
    [
      'ClusterName=dtraintest',
      `SlurmctldHost=${host}(127.0.0.1)`,
      'SlurmUser=root',
      'SlurmctldPort=16917',
      'SlurmdPort=16918',
      'AuthType=auth/munge',
      `StateSaveLocation=${dir}/ctld`,
      `SlurmdSpoolDir=${dir}/d`,
      `SlurmctldPidFile=${dir}/ctld.pid`,
      `SlurmdPidFile=${dir}/d.pid`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'MpiDefault=none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SlurmdParameters=config_overrides',
      'ReturnToService=2',
      // more CPUs than this machine has (config_overrides): three tasks share its cores, as oversubscribed GPUs' hosts would not
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=8 RealMemory=1000 State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES',
    ].join('\n') + '\n'
  );
}

function startMunge(): void {
  try {
    execFileSync('munge', ['-n'], { stdio: 'ignore' });
    return; // already running
  } catch {
    /* start it */
  }
  if (!existsSync('/etc/munge/munge.key')) execFileSync('mungekey', ['--create'], { stdio: 'ignore' });
  mkdirSync('/run/munge', { recursive: true });
  execFileSync('chown', ['munge:munge', '/run/munge', '/etc/munge/munge.key']);
  execFileSync('runuser', ['-u', 'munge', '--', '/usr/sbin/munged']);
}

before(async () => {
  if (slurmMissing && mpiMissing) return;
  dtrain = installedDtrain();
  if (slurmMissing) return;
  for (const d of ['ctld', 'd']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'slurm.conf'), slurmConf());
  startMunge();
  daemons.push(
    spawn('slurmctld', ['-D', '-i'], { env: env(), stdio: 'ignore' }),
    spawn('slurmd', ['-D'], { env: env(), stdio: 'ignore' }),
  );
  await waitUntil(
    'an idle Slurm node',
    () => {
      try {
        return execFileSync('sinfo', ['-h', '-o', '%t'], { env: env(), encoding: 'utf8' }).trim() === 'idle';
      } catch {
        return false;
      }
    },
    30_000,
    250,
  );
});
after(() => {
  for (const d of daemons) d.kill('SIGTERM');
});

function assertCompleted(out: string): void {
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { status: string };
  assert.equal(summary.status, 'completed');
  const steps = readMetrics(out).filter((r) => r.type === 'step');
  assert.equal(steps.length, STEPS);
  assert.ok(
    steps.every((r) => r.type === 'step' && r.workers === 2),
    'ranks 1 and 2 trained every step',
  );
}

test(
  'Slurm: sbatch --wait examples/slurm/dtrain.sbatch on 3 tasks completes the run',
  { skip: slurmMissing ?? false, timeout: 180_000 },
  () => {
    const out = join(dir, 'slurm-run');
    const log = join(dir, 'slurm-%j.out');
    const said = execFileSync('sbatch', ['--wait', '--nodes', '1', '--ntasks', '3', '--output', log, SBATCH, ...RUN], {
      env: { ...env(), DTRAIN_OUT: out },
      cwd: dir,
      encoding: 'utf8',
    });
    const job = /Submitted batch job (\d+)/.exec(said)?.[1];
    assert.ok(job, said);
    assertCompleted(out);
    const text = readFileSync(log.replace('%j', job), 'utf8');
    assert.match(text, /\[cluster\] scheduler: slurm/);
    assert.match(text, /rank 2 of 3 \(SLURM_PROCID=2, SLURM_NTASKS=3\)/);
    assert.match(text, /coordinator ws:\/\/[^ ]+:7070 \(first host of SLURM_STEP_NODELIST/);
  },
);

test(
  'Open MPI: mpirun -np 3 dtrain cluster completes the run; rank 0 coordinates',
  { skip: mpiMissing ?? false, timeout: 120_000 },
  () => {
    const out = join(dir, 'mpi-run');
    const r = spawnSync(
      'mpirun',
      [
        '--allow-run-as-root',
        '--oversubscribe',
        '-np',
        '3',
        '-x',
        'DTRAIN_TOKEN',
        '-x',
        'PATH',
        'dtrain',
        'cluster',
        '--port',
        '7072',
        '--out',
        out,
        ...RUN,
      ],
      { env: env(), encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    assertCompleted(out);
    assert.match(r.stderr, /rank 1 of 3 \(OMPI_COMM_WORLD_RANK=1, OMPI_COMM_WORLD_SIZE=3\)/);
    assert.match(r.stderr, /coordinator ws:\/\/127\.0\.0\.1:7072 \(every rank on this host/);
  },
);
