// `dtrain bench <what>`: compute (one worker: images/s, GFLOP/s, kernel times), scaling (1 vs 2 local
// workers), exchange (coordinator ms per step with echo workers), scale, floor (a plain socket pump and
// memcpy: the CPU floor of moving a step's bytes), and the echo worker itself.
// Each prints one JSON line; the benchmarks live in ../bench/.

import { buildManifest, getModelSpec, MODELS, type ModelSpec, paramCount, TrainerError } from '@dtrain/common';
import { isModelFile, readModelFile } from '@dtrain/common/files';
import { benchCompute, selectBackend } from '@dtrain/worker';
import type { Argv, Options } from 'yargs';
import { runEchoWorker } from '../bench/echo-worker.js';
import { benchExchange } from '../bench/exchange.js';
import { measureFloor } from '../bench/floor.js';
import { benchPeer } from '../bench/peer.js';
import { benchScale, machine } from '../bench/scale.js';
import { benchScaling } from '../bench/scaling.js';
import { choiceList, numbers } from '../experiment/plans.js';
import { backendOption, resolveToken, trainOptions } from '../options/options.js';
import { writeScaleReport } from '../report/scale-report.js';

/** A zoo name, or the spec of a model file (--model path/model.json). */
const modelArg = (model: string): string | ModelSpec => (isModelFile(model) ? readModelFile(model) : model);

const BENCHES = ['compute', 'exchange', 'scaling', 'scale', 'scale-report', 'floor', 'peer', 'echo-worker'] as const;

const BENCH_FLAGS = {
  steps: { type: 'number', default: 300, describe: 'steps (exchange) or iterations (compute) to measure' },
  'compute-only': {
    type: 'boolean',
    default: true,
    describe:
      "scaling: each round also runs `bench compute` alone and then two at once (no trainer) and prints that ratio next to the trainer's",
  },
  repeats: {
    type: 'number',
    default: 3,
    describe: 'scaling: rounds of (1 worker, 2 workers); the ratio printed is their median',
  },
  connect: { type: 'string', describe: 'echo-worker: coordinator address' },
  'compute-ms': {
    type: 'number',
    default: 0,
    describe: 'scale, echo-worker: simulated compute time per step (ms)',
  },
  'workers-list': { type: 'string', default: '1,2,4,8,16,32,64', describe: 'scale, floor: worker counts' },
  transport: {
    type: 'string',
    choices: ['tcp', 'unix'] as const,
    default: 'tcp' as const,
    describe: 'floor: loopback TCP or a Unix socket between the pump and its clients',
  },
  models: {
    type: 'string',
    default: 'reference-cnn,mlp-1m,mlp-11m',
    describe: 'scale, floor: model sizes (122,570, 986,570 and 10,821,340 parameters)',
  },
  'netns-hosts': {
    type: 'number',
    default: 0,
    describe:
      'scale: run the workers on this many network-namespace hosts (root), the coordinator here, links shaped to --rate',
  },
  rate: {
    type: 'string',
    default: '1gbit',
    describe: 'scale: tc tbf rate of every link with --netns-hosts',
  },
  relays: {
    type: 'boolean',
    default: false,
    describe:
      'scale, with --netns-hosts: one relay per host in front of its workers; with two or more hosts they sum ' +
      'the gradient in slices (sharded summation; --no-mesh: each sends its whole sum to the coordinator)',
  },
  mesh: {
    type: 'boolean',
    default: true,
    describe: 'scale, with --relays: sharded summation over the hosts (--no-mesh: the star through relays)',
  },
  'peer-dir': {
    type: 'string',
    describe: "peer: the PyTorch peer's folder (required; e.g. a copy of ../shared/peers)",
  },
  python: {
    type: 'string',
    default: '/usr/bin/python3',
    describe: "peer: a Python that imports torch (Debian's python3-torch)",
  },
  results: {
    type: 'string',
    default: 'bench/results/scale',
    describe: 'scale-report: the directory of `bench scale` JSON lines (*.jsonl)',
  },
  'max-bytes-per-step': {
    type: 'number',
    default: 4e9,
    describe: 'scale: skip points moving more than this through the coordinator per step',
  },
  token: {
    type: 'string',
    describe: 'exchange and echo-worker: shared secret, which seals the session (default: $DTRAIN_TOKEN)',
  },
  'token-file': { type: 'string', hidden: true },
} as const satisfies Record<string, Options>;

function benchOptions<T>(y: Argv<T>) {
  return backendOption(trainOptions(y), 'compute and scaling')
    .positional('what', { choices: BENCHES, demandOption: true, describe: 'which benchmark' })
    .options(BENCH_FLAGS)
    .example('$0 bench compute --backend wasm --steps 100', 'images/s and GFLOP/s of one worker')
    .example('$0 bench exchange --workers 2 --token s3cret', 'coordinator ms per step, sealed');
}

const print = (result: unknown): void => void process.stdout.write(JSON.stringify(result) + '\n');

/** Each model x worker count, read both ways (Node's buffer per read, one reused buffer): one line each. */
async function benchFloor(a: { models: string; workersList: string; steps: number; transport: 'tcp' | 'unix' }) {
  print({ bench: 'floor', ...machine() });
  for (const model of choiceList(a.models, Object.keys(MODELS), '--models'))
    for (const workers of numbers(a.workersList, '--workers-list')) {
      const params = paramCount(buildManifest(getModelSpec(model)));
      for (const reads of ['node', 'reused'] as const)
        print({ model, ...(await measureFloor({ params, workers, steps: a.steps, transport: a.transport, reads })) });
    }
}

export function benchCommand(y: Argv): Argv {
  return y.command(
    'bench <what>',
    'benchmarks: compute (one worker: images/s, GFLOP/s, kernel times), scaling (1 vs 2 local ' +
      'workers at the same per-worker --batch-size), exchange (coordinator ms/step, its CPU and garbage-collection share, with echo workers)',
    benchOptions,
    async (a) => {
      switch (a.what) {
        case 'echo-worker':
          await runEchoWorker(a.connect ?? '', resolveToken(a.token), a.computeMs);
          process.exit(0);
          break;
        case 'compute':
          print(await benchCompute(await selectBackend(a.backend), modelArg(a.model), a.batchSize, a.steps));
          break;
        case 'scaling':
          if (!Number.isInteger(a.repeats) || a.repeats < 1)
            throw new TrainerError('ERR_BAD_CONFIG', `--repeats must be a positive integer, got ${a.repeats}`);
          print(await benchScaling(a));
          break;
        case 'scale':
          print({ bench: 'scale', ...machine() });
          await benchScale(
            {
              models: choiceList(a.models, Object.keys(MODELS), '--models'),
              workers: numbers(a.workersList, '--workers-list'),
              steps: a.steps,
              computeMs: a.computeMs,
              gradWire: a.gradWire,
              weightWire: a.weightWire,
              netnsHosts: a.netnsHosts,
              rate: a.rate,
              maxBytesPerStep: a.maxBytesPerStep,
              relays: a.relays,
              mesh: a.mesh,
            },
            (l) => process.stdout.write(l + '\n'),
          );
          break;
        case 'floor':
          await benchFloor(a);
          break;
        case 'peer':
          print(await benchPeer(peerArgs(a), (l) => process.stderr.write(`${l}\n`)));
          break;
        case 'scale-report':
          for (const f of writeScaleReport(a.results)) process.stderr.write(`wrote ${f}\n`);
          break;
        case 'exchange':
          print(await benchExchange({ ...a, token: resolveToken(a.token) }));
          break;
      }
    },
  );
}

/** What `bench peer` runs with. */
function peerArgs(a: {
  peerDir?: string | undefined;
  python: string;
  repeats: number;
  steps: number;
  backend: string;
  model: string;
}) {
  const { python, steps, backend, model } = a;
  return { peerDir: requirePeerDir(a.peerDir), python, reps: a.repeats, steps, backend, model };
}

/** The PyTorch peer's folder: given, never assumed (it lives outside the repository). */
function requirePeerDir(dir: string | undefined): string {
  if (dir) return dir;
  throw new TrainerError('ERR_BAD_CONFIG', 'bench peer needs --peer-dir: the PyTorch peer has no default place', {
    hint: 'copy the peer somewhere writable and pass it, e.g. --peer-dir ../shared/peers',
  });
}
