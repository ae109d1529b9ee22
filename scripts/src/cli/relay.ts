// `dtrain relay`: one host's workers behind one connection to the coordinator (@dtrain/coordinator/relay).

import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Argv } from 'yargs';
import { TrainerError } from '@dtrain/common';
import { Relay } from '@dtrain/coordinator/relay';
import { spawnWorker } from './launch.js';
import { backendOption, checkConnect, checkPort, checkSeconds, resolveToken, schedOption, tokenOption } from '../options/options.js';
import { STEP_TIMEOUT_MS } from '@dtrain/common';

function relayOptions<T>(y: Argv<T>) {
  return schedOption(backendOption(tokenOption(y), 'the local workers'), 'the local workers\'')
    .option('connect', { type: 'string', demandOption: true, describe: 'coordinator address, e.g. ws://10.0.0.1:7070', group: 'Network:' })
    .option('local', { type: 'number', default: 2, describe: 'local workers behind this relay (one per GPU: CUDA_VISIBLE_DEVICES 0..N-1)', group: 'Network:' })
    .option('spawn', { type: 'boolean', default: true, describe: 'start the local workers (--no-spawn: wait for --local workers to connect to --listen-port, e.g. the ranks of a cluster job or benchmark workers; they prove the same token as the relay when it has one)', group: 'Network:' })
    .option('listen-port', { type: 'number', default: 0, describe: 'loopback port the local workers connect to (0: any)', group: 'Network:' })
    .option('data-dir', { type: 'string', describe: 'cifar10: directory with the binary files for the local workers' })
    .option('name', { type: 'string', describe: 'name in the coordinator\'s logs (default: host-relay)' })
    .option('exit-with-stdin', { type: 'boolean', default: false, hidden: true, describe: 'stop when stdin closes (relays started over ssh)' })
    .option('give-up', { type: 'number', default: 900, describe: 'exit after this many seconds without a coordinator' })
    .example('DTRAIN_TOKEN=... $0 relay --connect ws://10.0.0.1:7070 --local 8', 'this host\'s 8 GPUs as one worker of the coordinator');
}

export function relayCommand(y: Argv): Argv {
  return y.command('relay', 'serve a host\'s local workers to a coordinator as one (hierarchical aggregation: one gradient and one weights copy per host per step)', relayOptions, async (a) => {
    if (!Number.isInteger(a.local) || a.local < 1 || a.local > 256) throw new TrainerError('ERR_BAD_CONFIG', `--local ${a.local} must be 1..256`, { hint: 'one local worker per GPU, e.g. --local 8' });
    checkConnect(a.connect);
    checkSeconds(a.giveUp, '--give-up');
    const token = resolveToken(a.token, a.tokenFile);
    // its own workers prove a fresh token; with --no-spawn, workers of the same job prove the job's token (if any)
    const localToken = a.spawn ? randomBytes(16).toString('hex') : token;
    const children: ChildProcess[] = [];
    const relay = new Relay({
      url: a.connect, token, host: '127.0.0.1', port: checkPort(a.listenPort, '--listen-port'), localToken, localWorkers: a.local,
      stepTimeoutMs: STEP_TIMEOUT_MS, waitTimeoutMs: 600_000, giveUpMs: a.giveUp * 1000, ...(a.name ? { name: a.name } : {}), log: (l) => process.stderr.write(`${l}\n`),
      onListening: (port) => {
        if (!a.spawn) return void process.stderr.write(`relay: waiting for ${a.local} local workers at ws://127.0.0.1:${port}\n`);
        for (let i = 0; i < a.local; i++) children.push(spawnWorker(i, `ws://127.0.0.1:${port}`, localToken ?? '', { backend: a.backend, dataDir: a.dataDir, sched: a.sched }, String(i)));
      },
    });
    const stop = (): void => {
      for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
      process.exit(130);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (a.exitWithStdin) process.stdin.on('close', stop).resume(); // the launcher (or its ssh) went away
    const why = await relay.run();
    process.stderr.write(`relay: done (${why})\n`);
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
    process.exit(0);
  });
}
