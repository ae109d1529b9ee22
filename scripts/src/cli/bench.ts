// `dtrain bench <what>`: compute (one worker: images/s, GFLOP/s, kernel times), scaling (1 vs 2 local
// workers), exchange (coordinator ms per step with echo workers), and the echo worker itself.
// Each prints one JSON line; the benchmarks live in ../bench/.

import type { Argv } from 'yargs';
import { TrainerError } from '@dtrain/common';
import { benchCompute, selectBackend } from '@dtrain/worker';
import { runEchoWorker } from '../bench/echo-worker.js';
import { benchExchange } from '../bench/exchange.js';
import { benchScaling } from '../bench/scaling.js';
import { backendOption, resolveToken, trainOptions } from './options.js';

const BENCHES = ['compute', 'exchange', 'scaling', 'echo-worker'] as const;

function benchOptions<T>(y: Argv<T>) {
  return backendOption(trainOptions(y), 'compute and scaling')
    .positional('what', { choices: BENCHES, demandOption: true, describe: 'which benchmark' })
    .option('steps', { type: 'number', default: 300, describe: 'steps (exchange) or iterations (compute) to measure' })
    .option('compute-only', { type: 'boolean', default: true, describe: 'scaling: each round also runs `bench compute` alone and then two at once (no trainer) and prints that ratio next to the trainer\'s' })
    .option('repeats', { type: 'number', default: 3, describe: 'scaling: rounds of (1 worker, 2 workers); the ratio printed is their median' })
    .option('connect', { type: 'string', describe: 'echo-worker: coordinator address' })
    .option('token', { type: 'string', describe: 'exchange and echo-worker: shared secret, which seals the session (default: $DTRAIN_TOKEN)' })
    .option('token-file', { type: 'string', hidden: true })
    .example('$0 bench compute --backend wasm --steps 100', 'images/s and GFLOP/s of one worker')
    .example('$0 bench exchange --workers 2 --token s3cret', 'coordinator ms per step, sealed');
}

const print = (result: unknown): void => void process.stdout.write(JSON.stringify(result) + '\n');

export function benchCommand(y: Argv): Argv {
  return y.command('bench <what>', 'benchmarks: compute (one worker: images/s, GFLOP/s, kernel times), scaling (1 vs 2 local workers at the same per-worker --batch-size), exchange (coordinator ms/step with echo workers)', benchOptions, async (a) => {
    switch (a.what) {
      case 'echo-worker':
        await runEchoWorker(a.connect ?? '', resolveToken(a.token));
        process.exit(0);
        break;
      case 'compute':
        print(await benchCompute(await selectBackend(a.backend), a.model, a.batchSize, a.steps));
        break;
      case 'scaling':
        if (!Number.isInteger(a.repeats) || a.repeats < 1) throw new TrainerError('ERR_BAD_CONFIG', `--repeats must be a positive integer, got ${a.repeats}`);
        print(await benchScaling(a));
        break;
      case 'exchange':
        print(await benchExchange({ ...a, token: resolveToken(a.token) }));
        break;
    }
  });
}
