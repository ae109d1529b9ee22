// `dtrain launch`: a coordinator in this process plus N local worker processes on loopback (or, with
// --hostfile, workers on other hosts over ssh), one combined progress display, Ctrl-C forwarded, the
// coordinator's exit status, and no orphans (runs/launch.ts).

import { hostname } from 'node:os';
import type { Argv } from 'yargs';
import { backendOption, checkPort, resolveToken, schedOption, serveOptions } from '../options/options.js';
import { runRequest } from '../options/run-request.js';
import { runLaunch } from '../runs/launch.js';

/** Which GPUs the local workers use. */
function gpuOptions<T>(y: Argv<T>) {
  return y
    .option('gpus', {
      type: 'string',
      describe:
        'comma-separated GPU indices, one per worker (round robin), e.g. 0,1,2,3; refused where the GPU backend does not load',
      group: 'Network:',
    })
    .option('allow-cpu', {
      type: 'boolean',
      default: false,
      describe: 'with --gpus: train on the CPU, with a warning, where the GPU backend does not load (default: refuse)',
      group: 'Network:',
    });
}

function launchOptions<T>(y: Argv<T>) {
  return gpuOptions(schedOption(backendOption(serveOptions(y), 'the workers'), "workers'"))
    .option('hostfile', {
      type: 'string',
      describe:
        'start the workers on other hosts over ssh: lines "host slots=N" (N workers there, on GPUs 0..N-1); the coordinator runs here',
      group: 'Hosts:',
    })
    .option('advertise', {
      type: 'string',
      describe: "with --hostfile: this machine's address as the hosts reach it (default: its hostname)",
      group: 'Hosts:',
    })
    .option('port', {
      type: 'number',
      describe:
        'the port the coordinator listens on: with --hostfile on every interface (default 7070), else on loopback ' +
        '(default: any free port), e.g. to attach another worker with dtrain worker --connect ws://127.0.0.1:PORT',
      group: 'Hosts:',
    })
    .option('ssh-option', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe:
        'with --hostfile: extra ssh -o options, e.g. --ssh-option IdentityFile=~/.ssh/cluster (BatchMode=yes always)',
      group: 'Hosts:',
    })
    .option('relays', {
      type: 'boolean',
      default: true,
      describe:
        'with --hostfile: a host with slots > 1 runs one relay in front of its workers ' +
        '(one gradient per host per step); --no-relays: every worker connects here',
      group: 'Hosts:',
    })
    .option('remote-command', {
      type: 'string',
      default: 'dtrain',
      describe:
        'with --hostfile: the dtrain command on the hosts (install it there with npm install -g dtrain-VERSION.tgz)',
      group: 'Hosts:',
    })
    .example('$0 launch --workers 2', 'the demo: the reference CNN on the embedded dataset')
    .example('$0 launch --workers 4 --gpus 0,1,2,3 --dataset cifar10 --epochs 10 --augment', 'CIFAR-10 on four GPUs')
    .example('$0 launch --resume runs/demo', 'continue a stopped run')
    .example(
      '$0 launch --hostfile hosts --advertise 10.0.0.1 --dataset cifar10 --out runs/h1',
      'workers on the hosts in ./hosts over ssh (examples/hostfile)',
    );
}

export function launchCommand(y: Argv): Argv {
  return y.command(
    'launch',
    'start a coordinator and N local workers; one progress display',
    launchOptions,
    async (a) => {
      const run = runRequest({ ...a, host: '127.0.0.1', port: 0, token: resolveToken(a.token, a.tokenFile) });
      const workers = {
        ...a,
        count: a.workers,
        advertise: a.advertise ?? hostname(),
        port: a.port !== undefined ? checkPort(a.port) : a.hostfile ? 7070 : 0,
        sshOptions: a.sshOption,
      };
      process.exitCode = await runLaunch(run, workers);
    },
  );
}
