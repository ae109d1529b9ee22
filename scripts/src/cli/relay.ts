// `dtrain relay`: one host's workers behind one connection to the coordinator (runs/relay.ts).

import { TrainerError } from '@dtrain/common';
import type { Argv } from 'yargs';
import {
  backendOption,
  checkConnect,
  checkPort,
  checkSeconds,
  resolveToken,
  schedOption,
  tokenOption,
} from '../options/options.js';
import { runRelay } from '../runs/relay.js';

function relayOptions<T>(y: Argv<T>) {
  return schedOption(backendOption(tokenOption(y), 'the local workers'), "the local workers'")
    .option('connect', {
      type: 'string',
      demandOption: true,
      describe: 'coordinator address, e.g. ws://10.0.0.1:7070',
      group: 'Network:',
    })
    .option('local', {
      type: 'number',
      default: 2,
      describe: 'local workers behind this relay (one per GPU: CUDA_VISIBLE_DEVICES 0..N-1)',
      group: 'Network:',
    })
    .option('spawn', {
      type: 'boolean',
      default: true,
      describe:
        'start the local workers (--no-spawn: wait for --local workers to connect to --listen-port, e.g. the ' +
        'ranks of a cluster job or benchmark workers; they prove the same token as the relay when it has one)',
      group: 'Network:',
    })
    .option('listen-port', {
      type: 'number',
      default: 0,
      describe: 'loopback port the local workers connect to (0: any)',
      group: 'Network:',
    })
    .option('mesh-port', {
      type: 'number',
      default: 0,
      describe:
        'port (on every interface) where the other hosts reach this one for sharded summation: where every ' +
        "worker of a run is a relay, each owns a slice of the gradient's sum (0: any free port)",
      group: 'Network:',
    })
    .option('mesh', {
      type: 'boolean',
      default: true,
      describe: 'take part in sharded summation (--no-mesh: this host sends its whole sum to the coordinator)',
      group: 'Network:',
    })
    .option('data-dir', { type: 'string', describe: 'cifar10: directory with the binary files for the local workers' })
    .option('name', { type: 'string', describe: "name in the coordinator's logs (default: host-relay)" })
    .option('exit-with-stdin', {
      type: 'boolean',
      default: false,
      hidden: true,
      describe: 'stop when stdin closes (relays started over ssh)',
    })
    .option('give-up', { type: 'number', default: 900, describe: 'exit after this many seconds without a coordinator' })
    .example(
      'DTRAIN_TOKEN=... $0 relay --connect ws://10.0.0.1:7070 --local 8',
      "this host's 8 GPUs as one worker of the coordinator",
    );
}

export function relayCommand(y: Argv): Argv {
  const what =
    "serve a host's local workers to a coordinator as one (hierarchical aggregation: one gradient and one weights copy per host per step)";
  return y.command('relay', what, relayOptions, async (a) => {
    if (!Number.isInteger(a.local) || a.local < 1 || a.local > 256)
      throw new TrainerError('ERR_BAD_CONFIG', `--local ${a.local} must be 1..256`, {
        hint: 'one local worker per GPU, e.g. --local 8',
      });
    const code = await runRelay({
      connect: checkConnect(a.connect),
      token: resolveToken(a.token, a.tokenFile),
      local: a.local,
      spawn: a.spawn,
      listenPort: checkPort(a.listenPort, '--listen-port'),
      ...(a.mesh ? { meshPort: checkPort(a.meshPort, '--mesh-port') } : {}),
      workers: { backend: a.backend, dataDir: a.dataDir, sched: a.sched },
      name: a.name,
      giveUpSeconds: checkSeconds(a.giveUp, '--give-up'),
      exitWithStdin: a.exitWithStdin,
    });
    process.exit(code);
  });
}
