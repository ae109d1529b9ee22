// `dtrain launch`: a served run plus the workers this process starts for it: N local ones on loopback,
// or (with a hostfile) remote ones over ssh, a relay in front of each host of several slots. One
// supervisor (processes/local-workers.ts) watches them: when all have exited before the run finished,
// the run ends failed at once with what they said.

import { randomBytes } from 'node:crypto';
import { TrainerError } from '@dtrain/common';
import { tryNative } from '@dtrain/worker';
import { type HostSlots, readHostfile } from '../cluster/hostfile.js';
import { spawnRemoteWorker } from '../cluster/ssh.js';
import { dataDirFor } from '../data/fetch.js';
import { LocalWorkers, parseGpus, type WorkerSettings } from '../processes/local-workers.js';
import { exitCodeFor, forWorkers, type RunRequest, startCoordinator } from './coordinator.js';

/** Where launch's workers run and how they are started. */
export interface LaunchWorkers extends WorkerSettings {
  /** Local workers (without a hostfile). */
  count: number;
  gpus: string | undefined;
  /** With --gpus: go on (warned) on CPU where the GPU backend does not load. */
  allowCpu?: boolean;
  hostfile: string | undefined;
  /** The port to listen on (0: any free one); with a hostfile: this machine's address as the hosts reach it, ssh details. */
  advertise: string;
  port: number;
  relays: boolean;
  sshOptions: readonly string[];
  remoteCommand: string;
}

export async function runLaunch(run: RunRequest, w: LaunchWorkers): Promise<number> {
  const hosts = w.hostfile ? readHostfile(w.hostfile) : null;
  // with relays, a host of several slots is one connection (its relay) to wait for
  const workers = hosts ? hosts.reduce((n, h) => n + (w.relays && h.slots > 1 ? 1 : h.slots), 0) : w.count;
  const gpus = parseGpus(w.gpus, w.count); // a bad --gpus is refused before anything starts
  if (w.gpus) checkGpuBackend(w.gpus, w.backend, w.allowCpu === true, tryNative);
  const token = run.token ?? randomBytes(16).toString('hex');
  // Fetch once here so the workers find the files in place instead of fetching side by side.
  const dataDir = await dataDirFor(run);
  const listen = { host: hosts ? '0.0.0.0' : '127.0.0.1', port: w.port };
  const settings = { ...w, dataDir };
  let local: LocalWorkers | null = null;
  const started = await startCoordinator(
    {
      ...run,
      ...listen,
      token,
      dataDir,
      config: forWorkers(run, workers),
    },
    (port) => {
      local = new LocalWorkers({ onAllGone: (e) => started.coord.abandon(e) });
      if (hosts) startRemote(local, hosts, `ws://${w.advertise}:${port}`, token, settings);
      else for (let i = 0; i < w.count; i++) local.spawn(i, `ws://127.0.0.1:${port}`, token, settings, gpus[i]);
    },
  );
  const summary = await started.finished;
  await (local as LocalWorkers | null)?.stop();
  return exitCodeFor(summary);
}

/**
 * --gpus asks for GPUs: refuse (exit 2) where the workers would train on the CPU instead (a CPU backend asked
 * for, or @tensorflow/tfjs-node-gpu not loading here), unless --allow-cpu, which warns.
 */
export function checkGpuBackend(
  gpus: string,
  backend: string,
  allowCpu: boolean,
  loadGpu: (pkg: '@tensorflow/tfjs-node-gpu') => string | null,
  warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): void {
  const why = ['wasm', 'wasm-simd', 'cpu'].includes(backend)
    ? `--backend ${backend} runs on the CPU`
    : loadGpu('@tensorflow/tfjs-node-gpu');
  if (why === null) return;
  const message = `--gpus ${gpus}: the workers would train on the CPU (${why})`;
  if (allowCpu) return warn(`warning: ${message}; going on (--allow-cpu)`);
  throw new TrainerError('ERR_BAD_CONFIG', message, {
    hint: 'see docs/backends.md for the GPU backend (CUDA 11.2 + cuDNN 8.1); or add --allow-cpu to train on the CPU anyway',
  });
}

/** Workers (or a relay per host of several slots) on the hostfile's hosts over ssh. */
function startRemote(local: LocalWorkers, hosts: HostSlots[], url: string, token: string, w: LaunchWorkers): void {
  for (const { host, slots } of hosts) {
    const relayFor = w.relays && slots > 1 ? slots : undefined;
    for (let slot = 0; slot < (relayFor ? 1 : slots); slot++) {
      const name = relayFor ? `${host}#relay` : `${host}#${slot}`;
      const spec = {
        host,
        slot,
        url,
        backend: w.backend,
        command: w.remoteCommand,
        dataDir: w.dataDir,
        sched: w.sched,
        relayFor,
      };
      local.adopt(
        name,
        spawnRemoteWorker(spec, token, w.sshOptions, (l) => local.heard(name, `[${host}] ${l}`)),
      );
    }
  }
}
