// `dtrain worker`: select the compute backend, join a coordinator (retrying until it is up) and serve.

import { MAX_SHARD_SAMPLES, TrainerError } from '@dtrain/common';
import type { Argv } from 'yargs';
import type { OptionsOf } from '../options/options.js';
import {
  backendOption,
  checkConnect,
  checkSeconds,
  resolveToken,
  schedOption,
  tokenOption,
} from '../options/options.js';
import { clientTls, clientTlsOptions } from '../options/secrets.js';
import { runWorker } from '../runs/worker.js';

function workerOptions<T>(y: Argv<T>) {
  return clientTlsOptions(schedOption(backendOption(tokenOption(y), 'this worker'), "this worker's"))
    .option('connect', {
      type: 'string',
      demandOption: true,
      describe: 'coordinator address, e.g. ws://10.0.0.1:7070',
      group: 'Network:',
    })
    .option('name', { type: 'string', describe: 'name in logs and metrics (default: host-pid)' })
    .option('gpu', { type: 'number', describe: 'GPU index for this worker (sets CUDA_VISIBLE_DEVICES)' })
    .option('give-up', {
      type: 'number',
      default: 0,
      describe: 'exit after this many seconds without a coordinator (0: keep retrying)',
    })
    .option('max-shard', {
      type: 'number',
      default: MAX_SHARD_SAMPLES,
      describe:
        'the most samples this worker computes in one assignment (what its memory holds); larger ones are refused',
    })
    .option('quiet', { type: 'boolean', default: false, describe: 'log only problems' })
    .option('data-dir', {
      type: 'string',
      describe: 'cifar10: directory with the binary files (default: the cache; fetched on first use)',
    })
    .option('exit-with-stdin', {
      type: 'boolean',
      default: false,
      hidden: true,
      describe: 'stop when stdin closes (workers started over ssh: no orphan when the launcher goes)',
    })
    .example('DTRAIN_TOKEN=... $0 worker --connect ws://10.0.0.1:7070 --gpu 0', 'join a coordinator with GPU 0')
    .example(
      '$0 worker --connect wss://coord.example:7070 --tls-ca ca.pem --token-file /run/secrets/dtrain',
      'over TLS',
    )
    .check((a) => {
      checkConnect(a.connect);
      checkSeconds(a.giveUp as number, '--give-up');
      if (!Number.isInteger(a.maxShard) || (a.maxShard as number) < 1) {
        throw new TrainerError('ERR_BAD_CONFIG', `--max-shard ${String(a.maxShard)} must be a whole number >= 1`, {
          hint: `e.g. --max-shard ${MAX_SHARD_SAMPLES}`,
        });
      }
      if (a.gpu !== undefined && (!Number.isInteger(a.gpu) || a.gpu < 0)) {
        throw new TrainerError('ERR_BAD_CONFIG', `--gpu ${a.gpu} must be a GPU index >= 0`, {
          hint: 'use e.g. --gpu 0',
        });
      }
      return true;
    });
}

export type WorkerArgs = OptionsOf<typeof workerOptions<object>>;

export function workerCommand(y: Argv): Argv {
  return y.command('worker', 'join a coordinator and compute gradients', workerOptions, async (a) => {
    const code = await runWorker({ ...a, token: resolveToken(a.token, a.tokenFile), tls: clientTls(a) });
    // The IPC channel to a launcher and tfjs' wasm runtime keep the loop alive: leave explicitly.
    process.exit(code);
  });
}
