#!/usr/bin/env node
// dtrain command line: coordinator, worker, launch. Bad values are refused before anything starts.

import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { isTrainerError, TrainerError } from '@dtrain/common';
import { BACKEND_CHOICES, benchCompute, SCHED_POLICIES, selectBackend, type BackendChoice } from '@dtrain/worker';
import { exitCodeFor, startCoordinator, type CoordinatorArgs } from './coordinator-cmd.js';
import { runLaunch, type LaunchArgs } from './launch.js';
import { runWorkerCommand } from './worker-cmd.js';
import { runEchoWorker } from './bench/echo-worker.js';
import { benchExchange } from './bench/exchange.js';
import { benchScaling } from './bench/scaling.js';
import { runDoctor } from './doctor.js';
import { defaultCifarDir, fetchCifar10 } from './data-fetch.js';
import { toTrainConfig, trainOptions, type TrainArgs } from './options.js';
import { runExperiment, type PoolArgs } from './experiment-cmd.js';
import { list, momentumPlan, numbers, sweepPlan, type SweepAxes } from './plans.js';
import type { MomentumForm, ScalingRule, ScheduleKind } from '@dtrain/common';

const TOKEN_ENV = 'DTRAIN_TOKEN';

function serveOptions<T>(y: Argv<T>) {
  return trainOptions(y)
    .option('token', { type: 'string', describe: `shared secret workers must prove by HMAC (default: $${TOKEN_ENV}; none if unset)`, group: 'Network:' });
}

function poolOptions<T>(y: Argv<T>) {
  return y
    .option('host', { type: 'string', default: '127.0.0.1', describe: 'pool address (0.0.0.0 for workers on other machines)', group: 'Network:' })
    .option('port', { type: 'number', default: 7070, describe: 'pool port when --local 0', group: 'Network:' })
    .option('local', { type: 'number', default: 2, describe: 'local worker processes to start (0: wait for workers to connect)', group: 'Network:' })
    .option('backend', { type: 'string', default: 'auto', choices: BACKEND_CHOICES, describe: 'tfjs backend for local workers', group: 'Network:' })
    .option('sched', { type: 'string', default: 'batch', choices: SCHED_POLICIES, describe: 'local workers\' Linux CPU policy (see dtrain worker --sched)', group: 'Network:' })
    .option('target', { type: 'number', default: 0.5, describe: 'target validation accuracy for steps/epochs/examples to target', group: 'Run:' });
}

function poolArgs(a: Record<string, unknown>): PoolArgs {
  return {
    host: String(a['host']), port: Number(a['port']), token: (a['token'] as string | undefined) ?? process.env[TOKEN_ENV], local: Number(a['local']),
    backend: String(a['backend']), sched: String(a['sched']), dataDir: a['dataDir'] as string | undefined, out: a['out'] as string | undefined,
    target: Number(a['target']), waitTimeout: Number(a['waitTimeout']), dataset: String(a['dataset']),
  };
}

function fail(e: unknown): never {
  if (isTrainerError(e)) {
    process.stderr.write(`dtrain: ${e.code}: ${e.describe()}\n`);
    process.exit(2);
  }
  process.stderr.write(`dtrain: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('dtrain')
    .usage('$0 <command> [options]\n\nSynchronous data-parallel CNN training over WebSockets.')
    .command('coordinator', 'serve a training run and train once --workers have joined', (y) =>
      serveOptions(y)
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to listen on (0.0.0.0 for workers on other machines)', group: 'Network:' })
        .option('port', { type: 'number', default: 7070, describe: 'TCP port (0: any free port)', group: 'Network:' }),
    async (a) => {
      const started = await startCoordinator({ ...(a as unknown as CoordinatorArgs), token: a.token ?? process.env[TOKEN_ENV] });
      process.exitCode = exitCodeFor(await started.finished);
    })
    .command('worker', 'join a coordinator and compute gradients', (y) =>
      y.option('connect', { type: 'string', demandOption: true, describe: 'coordinator address, e.g. ws://10.0.0.1:7070' })
        .option('token', { type: 'string', describe: `shared secret (default: $${TOKEN_ENV})` })
        .option('name', { type: 'string', describe: 'name in logs and metrics (default: host-pid)' })
        .option('backend', { type: 'string', default: 'auto', choices: BACKEND_CHOICES, describe: 'tfjs backend: auto = tensorflow (native, GPU if present) if it loads, else wasm, else cpu' })
        .option('gpu', { type: 'number', describe: 'GPU index for this worker (sets CUDA_VISIBLE_DEVICES)' })
        .option('give-up', { type: 'number', default: 0, describe: 'exit after this many seconds without a coordinator (0: keep retrying)' })
        .option('quiet', { type: 'boolean', default: false, describe: 'log only problems' })
        .option('data-dir', { type: 'string', describe: 'cifar10: directory with the binary files (default: the cache; fetched on first use)' })
        .option('sched', { type: 'string', default: 'batch', choices: SCHED_POLICIES, describe: 'Linux CPU policy: batch = SCHED_BATCH via chrt (a woken worker does not preempt a coordinator on the same cores), normal = leave as is' })
        .check((a) => {
          if (!/^wss?:\/\/[^/\s]+/.test(a.connect)) throw new Error(`--connect "${a.connect}" is not a ws:// address; use e.g. ws://127.0.0.1:7070`);
          if (a.gpu !== undefined && (!Number.isInteger(a.gpu) || a.gpu < 0)) throw new Error(`--gpu ${a.gpu} must be a GPU index >= 0`);
          return true;
        }),
    async (a) => {
      const code = await runWorkerCommand({ ...a, token: a.token ?? process.env[TOKEN_ENV] });
      // The IPC channel to a launcher and tfjs' wasm runtime keep the loop alive: leave explicitly.
      process.exit(code);
    })
    .command('launch', 'start a coordinator and N local workers; one progress display', (y) =>
      serveOptions(y)
        .option('backend', { type: 'string', default: 'auto', choices: BACKEND_CHOICES, describe: 'tfjs backend for the workers', group: 'Network:' })
        .option('gpus', { type: 'string', describe: 'comma-separated GPU indices, one per worker (round robin), e.g. 0,1,2,3', group: 'Network:' })
        .option('sched', { type: 'string', default: 'batch', choices: SCHED_POLICIES, describe: 'workers\' Linux CPU policy (see dtrain worker --sched)', group: 'Network:' }),
    async (a) => {
      process.exitCode = await runLaunch({ ...(a as unknown as LaunchArgs), host: '127.0.0.1', port: 0, token: a.token ?? process.env[TOKEN_ENV] });
    })
    .command('bench <what>', 'benchmarks: compute (one worker: images/s, GFLOP/s, kernel times), scaling (1 vs 2 local workers at the same per-worker --batch-size), exchange (coordinator ms/step with echo workers)', (y) =>
      trainOptions(y)
        .positional('what', { choices: ['compute', 'exchange', 'scaling', 'echo-worker'] as const, demandOption: true, describe: 'which benchmark' })
        .option('steps', { type: 'number', default: 300, describe: 'steps (exchange) or iterations (compute) to measure' })
        .option('backend', { type: 'string', default: 'auto', choices: BACKEND_CHOICES, describe: 'compute: tfjs backend' })
        .option('compute-only', { type: 'boolean', default: true, describe: 'scaling: each round also runs `bench compute` alone and then two at once (no trainer) and prints that ratio next to the trainer\'s' })
        .option('repeats', { type: 'number', default: 3, describe: 'scaling: rounds of (1 worker, 2 workers); the ratio printed is their median' })
        .option('connect', { type: 'string', describe: 'echo-worker: coordinator address' }),
    async (a) => {
      if (a.what === 'echo-worker') {
        await runEchoWorker(a.connect ?? '', process.env[TOKEN_ENV]);
        process.exit(0);
      }
      if (a.what === 'compute') {
        const backend = await selectBackend(a.backend as BackendChoice);
        process.stdout.write(JSON.stringify(await benchCompute(backend, a.model, a.batchSize, a.steps)) + '\n');
        return;
      }
      if (a.what === 'scaling') {
        if (!Number.isInteger(a.repeats) || a.repeats < 1) throw new TrainerError('ERR_BAD_CONFIG', `--repeats must be a positive integer, got ${a.repeats}`);
        process.stdout.write(JSON.stringify(await benchScaling(a as unknown as Parameters<typeof benchScaling>[0])) + '\n');
        return;
      }
      process.stdout.write(JSON.stringify(await benchExchange(a as unknown as TrainArgs & { steps: number })) + '\n');
    })
    .command('experiment momentum', 'reproduce the momentum-SGD comparison: plain SGD vs momentum runs on one pool, a table and a report', (y) =>
      poolOptions(serveOptions(y))
        .option('epochs', { type: 'number', default: 10, describe: 'epochs per run (the article: 10)' })
        .option('dataset', { type: 'string', default: 'cifar10', choices: ['synthetic', 'cifar10'], describe: 'dataset (the article: CIFAR-10)' })
        .option('momenta', { type: 'string', default: '0.9', describe: 'comma-separated momentum values, e.g. 0.9,0.95,0.99' })
        .option('forms', { type: 'string', default: 'keras', describe: 'comma-separated momentum forms: keras (the article\'s code), ema (the article\'s formula), pytorch' })
        .option('with-nesterov', { type: 'boolean', default: false, describe: 'also run a Nesterov variant of each' }),
    async (a) => {
      const base = toTrainConfig(a as unknown as TrainArgs);
      const forms = list(a.forms) as MomentumForm[];
      const plan = momentumPlan(base, numbers(a.momenta, '--momenta'), forms, a.withNesterov);
      await runExperiment('momentum', plan, poolArgs(a), (o) => String(o.labels['optimizer']));
    })
    .command('sweep', 'grid over batch size x optimizer x momentum x lr scaling x warmup x schedule x seed on one pool; steps to target, reports', (y) =>
      poolOptions(serveOptions(y))
        .option('batch-sizes', { type: 'string', default: '32,64,128,256', describe: 'comma-separated GLOBAL batch sizes' })
        .option('optimizers', { type: 'string', default: 'sgd,momentum', describe: 'comma-separated: sgd, momentum, nesterov' })
        .option('momenta', { type: 'string', default: '0.9', describe: 'comma-separated momentum values (momentum/nesterov runs)' })
        .option('lr-scalings', { type: 'string', default: 'none', describe: 'comma-separated: none, linear, sqrt' })
        .option('warmups', { type: 'string', default: '0', describe: 'comma-separated warmup steps' })
        .option('schedules', { type: 'string', default: 'constant', describe: 'comma-separated: constant, step, exponential, cosine' })
        .option('seeds', { type: 'string', default: '1', describe: 'comma-separated seeds (repeats)' }),
    async (a) => {
      const axes: SweepAxes = {
        batchSizes: numbers(a.batchSizes, '--batch-sizes'), optimizers: list(a.optimizers) as SweepAxes['optimizers'],
        momenta: numbers(a.momenta, '--momenta'), scalings: list(a.lrScalings) as ScalingRule[], warmups: numbers(a.warmups, '--warmups'),
        schedules: list(a.schedules) as ScheduleKind[], seeds: numbers(a.seeds, '--seeds'),
      };
      for (const o of axes.optimizers) {
        if (!['sgd', 'momentum', 'nesterov'].includes(o)) throw new TrainerError('ERR_BAD_CONFIG', `--optimizers: unknown "${o}"`, { hint: 'use sgd, momentum, nesterov' });
      }
      const plan = sweepPlan(toTrainConfig(a as unknown as TrainArgs), axes);
      await runExperiment('sweep', plan, poolArgs(a), (o) => `${o.labels['optimizer']} ${o.labels['scaling']} w${o.labels['warmup']} ${o.labels['schedule']}`);
    })
    .command('data fetch <dataset>', 'download and verify a dataset into the cache (or --dir)', (y) =>
      y.positional('dataset', { choices: ['cifar10'] as const, demandOption: true, describe: 'dataset to fetch' })
        .option('dir', { type: 'string', describe: `target directory (default: ${defaultCifarDir()})` }),
    async (a) => {
      const dir = await fetchCifar10(a.dir ?? defaultCifarDir(), (l) => process.stderr.write(l + '\n'));
      process.stdout.write(`${dir}\n`);
    })
    .command('doctor', 'print versions, which backends load and why not, GPU visibility, and a 2-second speed probe', (y) => y,
      async () => {
        await runDoctor((l) => process.stdout.write(l + '\n'));
      })
    .demandCommand(1, 'choose a command: coordinator, worker, launch, experiment, sweep, data, bench or doctor')
    .strict()
    .recommendCommands()
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg, err) => {
      if (err) fail(err);
      process.stderr.write(`dtrain: ${msg}\n(see dtrain <command> --help)\n`);
      process.exit(2);
    })
    .help()
    .parseAsync();
}

main().catch(fail);
