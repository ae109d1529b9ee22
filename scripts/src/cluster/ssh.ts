// Workers on other hosts over OpenSSH, for `dtrain launch --hostfile`. ssh runs in BatchMode (never
// prompts); the token travels on ssh's stdin, never on a command line; the remote worker runs with
// --exit-with-stdin, so when this launcher (or its ssh client) goes, the remote worker goes too.

import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One argument for a POSIX shell: single-quoted. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export interface RemoteWorker {
  host: string;
  slot: number;
  /** > 1: one `dtrain relay` in front of this many workers on the host instead of one worker. */
  relayFor?: number;
  url: string;
  backend: string;
  /** The dtrain command on the remote host (default: dtrain, from PATH). */
  command: string;
  dataDir?: string | undefined;
  sched?: string | undefined;
}

/** The remote shell command: read the token from stdin, then become the worker. */
export function remoteCommand(w: RemoteWorker): string {
  const host = w.host.replace(/^.*@/, '');
  const role =
    w.relayFor && w.relayFor > 1
      ? ['relay', '--connect', w.url, '--name', `${host}-relay`, '--local', String(w.relayFor)]
      : ['worker', '--connect', w.url, '--name', `${host}-${w.slot}`, '--gpu', String(w.slot), '--quiet'];
  const args = [
    w.command,
    ...role,
    '--backend',
    w.backend,
    '--give-up',
    '60',
    '--exit-with-stdin',
    ...(w.dataDir ? ['--data-dir', w.dataDir] : []),
    ...(w.sched ? ['--sched', w.sched] : []),
  ];
  return `read -r DTRAIN_TOKEN && export DTRAIN_TOKEN && exec ${args.map(shellQuote).join(' ')}`;
}

/** ssh's argv: BatchMode, keepalives that notice a dead link, the caller's -o options, the host, the command. */
export function sshArgv(host: string, command: string, options: readonly string[]): string[] {
  const base = ['BatchMode=yes', 'ServerAliveInterval=15', 'ServerAliveCountMax=4', 'ConnectTimeout=10'];
  return [...[...base, ...options].flatMap((o) => ['-o', o]), '--', host, command];
}

export function spawnRemoteWorker(
  w: RemoteWorker,
  token: string,
  sshOptions: readonly string[],
  onLine: (line: string) => void,
): ChildProcess {
  const child = spawn('ssh', sshArgv(w.host, remoteCommand(w), sshOptions), {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdin?.on('error', () => undefined); // ssh gone before the token was written: its exit says why
  child.stdin?.write(`${token}\n`);
  for (const s of [child.stdout, child.stderr]) if (s) createInterface({ input: s }).on('line', onLine);
  return child;
}
