// `dtrain doctor`: what a person needs to debug a setup: Node and tfjs versions, which backends load and
// why not, CUDA visibility for the GPU package, CPU count, worker scheduling, a 2-second speed probe, and
// the same probe beside a busy core: on VMs whose vCPUs share physical cores, a second worker slows the
// first, and that caps what 2 workers can give over 1 before any trainer overhead (bench/RESULTS.md).
// `--hosts FILE`: the links of a cluster (../doctor/hosts.ts).

import { execFileSync, spawn } from 'node:child_process';
import { cpus, hostname, totalmem } from 'node:os';
import { buildManifest, getModelSpec, median, paramCount, TrainerError } from '@dtrain/common';
import { isModelFile, readModelFile } from '@dtrain/common/files';
import { applySchedPolicy, benchCompute, selectBackend, tfjsVersions, tryNative } from '@dtrain/worker';
import type { Argv } from 'yargs';
import { readHostfile } from '../cluster/hostfile.js';
import { doctorHosts, sshRunner } from '../doctor/hosts.js';
import { probeLink } from '../doctor/link-probe.js';
import { checkPort, ignoredTokenOptions } from '../options/options.js';

function nvidiaSmi(): string {
  try {
    return execFileSync('nvidia-smi', ['--query-gpu=index,name,memory.total,driver_version', '--format=csv,noheader'], {
      encoding: 'utf8',
      timeout: 5000,
    }).trim();
  } catch {
    return 'nvidia-smi not found or failed (no NVIDIA driver visible)';
  }
}

/** The busy loop; it ends by itself after 30 s, so a doctor killed mid-probe leaves nothing spinning. */
const BUSY_LOOP =
  'const end = Date.now() + 30000; let x = 1; while (Date.now() < end) for (let i = 0; i < 1e6; i++) x = (Math.imul(x, 1103515245) + 12345) | 0;';

/** Run `fn` while another process keeps a core busy with integer work (no memory traffic). */
async function besideBusyCore<T>(fn: () => Promise<T>): Promise<T> {
  const child = spawn(process.execPath, ['-e', BUSY_LOOP], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 300));
    return await fn();
  } finally {
    child.kill();
  }
}

export async function runDoctor(write: (line: string) => void): Promise<void> {
  write(
    `node ${process.version} on ${process.platform}-${process.arch}; ${cpus().length} ` +
      `CPUs (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
  );
  for (const [p, v] of Object.entries(tfjsVersions())) write(`${p}: ${v}`);
  for (const p of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const) {
    write(`native ${p}: ${tryNative(p) ?? 'loads'}`);
  }
  write(`CUDA_VISIBLE_DEVICES=${process.env['CUDA_VISIBLE_DEVICES'] ?? '(unset: all GPUs visible)'}`);
  write(`GPUs: ${nvidiaSmi()}`);
  write(
    '@tensorflow/tfjs-node-gpu 4.22 needs Linux x86-64 with CUDA 11.2 and cuDNN 8.1; one worker process per GPU (--gpu K)',
  );
  // What a worker does at start (harmless here: doctor is a throughput job too).
  write(`worker scheduling (--sched batch): ${applySchedPolicy('batch').reason}`);
  const backend = await selectBackend('auto');
  write(`auto backend: ${backend.name} (${backend.reason})`);
  const probe = await benchCompute(backend, 'reference-cnn', 64, 1, false);
  const iterations = Math.max(1, Math.min(50, Math.floor(2000 / probe.msPerBatch)));
  const r = iterations > 1 ? await benchCompute(backend, 'reference-cnn', 64, iterations, false) : probe;
  write(
    `speed probe (reference-cnn, batch 64, forward+backward, ${r.iterations} iterations): ${r.imagesPerSecond} images/s, ${r.gflopsPerSecond} GFLOP/s`,
  );
  if (cpus().length < 2) {
    write('beside a busy core: skipped (one CPU)');
    return;
  }
  // Alternate alone / beside three times (a VM's speed drifts between seconds) and compare medians.
  const n = Math.max(1, Math.round(r.iterations / 3));
  const alone: number[] = [];
  const beside: number[] = [];
  for (let i = 0; i < 3; i++) {
    alone.push((await benchCompute(backend, 'reference-cnn', 64, n, false)).imagesPerSecond);
    beside.push((await besideBusyCore(() => benchCompute(backend, 'reference-cnn', 64, n, false))).imagesPerSecond);
  }
  const a = median(alone);
  const b = median(beside);
  const change = `${b >= a ? '+' : ''}${(100 * (b / a - 1)).toFixed(0)}%`;
  write(
    `beside a busy core (an integer loop in another process; medians of 3 alternations): ${b.toFixed(1)} vs ${a.toFixed(1)} images/s alone (${change}): ` +
      (b >= 0.97 * a
        ? 'no slowdown measured'
        : `cores slowing each other this much hold 2 workers near ${((2 * b) / a).toFixed(2)}x one before any communication`),
  );
}

function doctorOptions<T>(y: Argv<T>) {
  return ignoredTokenOptions(y)
    .option('hosts', {
      type: 'string',
      describe:
        'a hostfile ("host slots=N" lines): each host probes its link to this machine over ssh (round trip, ' +
        'goodput each way), then the communication per step of each exchange mode is predicted',
      group: 'Hosts:',
    })
    .option('model', {
      type: 'string',
      default: 'reference-cnn',
      describe: 'with --hosts: the model to predict for',
      group: 'Hosts:',
    })
    .option('advertise', {
      type: 'string',
      describe: "with --hosts: this machine's address as the hosts reach it (default: its hostname)",
      group: 'Hosts:',
    })
    .option('probe-port', {
      type: 'number',
      default: 0,
      describe: 'with --hosts: the probe server port (0: any)',
      group: 'Hosts:',
    })
    .option('probe-bytes', {
      type: 'number',
      default: 16 * 1024 * 1024,
      describe: 'bytes each probe sends each way (more: a steadier goodput on fast links)',
      group: 'Hosts:',
    })
    .option('ssh-option', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'with --hosts: extra ssh -o options',
      group: 'Hosts:',
    })
    .option('remote-command', {
      type: 'string',
      default: 'dtrain',
      describe: 'with --hosts: dtrain on the hosts',
      group: 'Hosts:',
    })
    .option('probe-link', {
      type: 'string',
      hidden: true,
      describe: 'ADDR:PORT: probe the link to a doctor --hosts (what each host runs)',
    })
    .example(
      '$0 doctor --hosts hosts --advertise 10.0.0.1',
      "each host's link to this machine, and what each mode would cost",
    );
}

export function doctorCommand(y: Argv): Argv {
  return y.command(
    'doctor',
    'print versions, which backends load and why not, GPU visibility, a 2-second speed probe and the same beside a ' +
      'busy core (about 10 s in all); --hosts: the links of a cluster and what each exchange mode would cost',
    doctorOptions,
    async (a) => {
      const write = (l: string): void => void process.stdout.write(l + '\n');
      if (a.probeLink !== undefined) {
        const m = /^(.+):(\d+)$/.exec(a.probeLink);
        if (!m) throw new TrainerError('ERR_BAD_CONFIG', `--probe-link ${a.probeLink} is not ADDR:PORT`);
        return write(JSON.stringify(await probeLink(m[1]!, Number(m[2]), a.probeBytes)));
      }
      if (a.hosts === undefined) return runDoctor(write);
      const spec = isModelFile(a.model) ? readModelFile(a.model) : getModelSpec(a.model);
      await doctorHosts(
        {
          hosts: readHostfile(a.hosts, '--hosts'),
          model: a.model,
          params: paramCount(buildManifest(spec)),
          advertise: a.advertise ?? hostname(),
          port: checkPort(a.probePort, '--probe-port'),
          probeBytes: a.probeBytes,
          runner: sshRunner(a.sshOption.map(String), a.remoteCommand),
        },
        write,
      );
    },
  );
}
