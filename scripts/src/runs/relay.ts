// `dtrain relay`: one host's workers behind one connection to the coordinator (@dtrain/coordinator/relay).
// It starts its local workers under the one supervisor, on a Unix socket (or, --no-spawn, waits for a
// job's ranks to dial its loopback port); when every worker it started has exited, it leaves at once (its coordinator reassigns its shard)
// instead of waiting for them.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STEP_TIMEOUT_MS } from '@dtrain/common';
import { Relay } from '@dtrain/coordinator/relay';
import { LocalWorkers, type WorkerSettings } from '../processes/local-workers.js';

export interface RelayRun {
  connect: string;
  token: string | undefined;
  /** Local workers behind the relay; `spawn`: start them here (one per GPU), else wait for them to dial. */
  local: number;
  spawn: boolean;
  listenPort: number;
  /** Sharded summation: the port other hosts reach this one on (0: any); absent: no mesh. */
  meshPort?: number;
  workers: WorkerSettings;
  name: string | undefined;
  giveUpSeconds: number;
  exitWithStdin: boolean;
}

/** Serve until the coordinator is done; the process's exit status. */
export async function runRelay(r: RelayRun): Promise<number> {
  const log = (l: string): void => void process.stderr.write(`${l}\n`);
  // its own workers prove a fresh token; with --no-spawn, workers of the same job prove the job's token (if any)
  const localToken = r.spawn ? randomBytes(16).toString('hex') : r.token;
  let gone: string | null = null;
  const local = new LocalWorkers({ onAllGone: (e) => ((gone = e.describe()), relay.stop()) });
  // workers it starts itself dial a Unix socket in a directory only this user can enter (no TCP/IP stack)
  const dir = r.spawn ? mkdtempSync(join(tmpdir(), 'dtrain-relay-')) : null;
  const socketPath = dir ? join(dir, 'local.sock') : undefined;
  const relay = new Relay({
    url: r.connect,
    token: r.token,
    host: '127.0.0.1',
    port: r.listenPort,
    ...(socketPath ? { socketPath } : {}),
    ...(r.meshPort === undefined ? {} : { meshPort: r.meshPort }),
    localToken,
    localWorkers: r.local,
    stepTimeoutMs: STEP_TIMEOUT_MS,
    waitTimeoutMs: 600_000,
    giveUpMs: r.giveUpSeconds * 1000,
    ...(r.name ? { name: r.name } : {}),
    log,
    onListening: (port) => {
      if (!r.spawn) return log(`relay: waiting for ${r.local} local workers at ws://127.0.0.1:${port}`);
      for (let i = 0; i < r.local; i++) local.spawn(i, `ws+unix:${socketPath}`, localToken ?? '', r.workers, String(i));
    },
  });
  const stop = (): void => {
    local.kill();
    process.exit(130);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (r.exitWithStdin) process.stdin.on('close', stop).resume(); // the launcher (or its ssh) went away
  try {
    const why = await relay.run();
    log(gone ? `relay: ${gone}` : `relay: done (${why})`);
    return gone ? 1 : 0;
  } finally {
    local.kill();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
