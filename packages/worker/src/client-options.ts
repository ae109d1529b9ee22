// What a worker is given (where its coordinator is, who it is, its backend and deadlines) and how it ends.

import type { DatasetSpec } from '@dtrain/common';
import type { DataLocation } from '@dtrain/common/files';
import type { BackendInfo } from './backend.js';

export interface WorkerOptions {
  url: string;
  token: string | undefined;
  name: string;
  backend: BackendInfo;
  /** Give up after this long without a connection (0: never). */
  giveUpMs: number;
  /** How often a worker that cannot connect says so again (default 30 s). */
  stillWaitingEveryMs?: number;
  /** For wss://: the CA that signed the coordinator's certificate, and a client certificate if it asks for one. */
  tls?: ClientTls;
  /** Makes the dataset available on this machine (e.g. fetches CIFAR-10) and says where it is. */
  prepareData?: (spec: DatasetSpec) => Promise<DataLocation>;
  log: (line: string) => void;
  /** Problems (lost or refused connections, bad frames): printed even when `log` is quiet (default: log). */
  warn?: (line: string) => void;
  /** A connection silent this long (no ping, no frame) is dropped and retried (default: heartbeat + pong deadline, 30 s). */
  silenceMs?: number;
  /** The most samples this worker computes in one assignment (default MAX_SHARD_SAMPLES); a run's larger shards are refused. */
  maxShard?: number;
  /** A connection with no welcome or work this long is dropped, and its coordinator counts as gone (default IDLE_DEADLINE_MS). */
  idleMs?: number;
  /** Backoff between dials: first and longest wait (default RECONNECT_INITIAL_MS, RECONNECT_MAX_MS). */
  retryMs?: { initial: number; max: number };
}

export interface WorkerResult {
  /** Why the worker stopped: the coordinator's shutdown reason or a rejection. */
  reason: string;
  ok: boolean;
  steps: number;
  /** A refusal that retrying cannot fix (wrong or missing token, another protocol version): a configuration error. */
  permanent?: boolean;
}

/** PEM contents for wss:// connections. */
export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}
