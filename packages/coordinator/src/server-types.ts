// What a CoordinatorServer is given (ServerOptions), the events it emits and what a run tells every worker at
// its welcome.

import type {
  DivergedMsg,
  EvalResultMsg,
  FailMsg,
  GradientMsg,
  MeshReadyMsg,
  PartMsg,
  SliceMsg,
  WelcomeMsg,
} from '@dtrain/common';
import type { AdmissionLimits } from './admission.js';
import type { WorkerConn } from './conn.js';
import type { ServerTls } from './http.js';

/** What a run tells every worker at its welcome. */
export type RunWelcome = Omit<WelcomeMsg, 'kind' | 'workerId'>;

export interface ServerOptions {
  host: string;
  port: number;
  /** Listen on this Unix socket instead of host:port (a relay's host-local workers). */
  socketPath?: string;
  token: string | undefined;
  /** The largest model any run on this server will have: bounds every frame. */
  maxParams: number;
  /**
   * Lend large received frames from a pool per connection, reused two rounds later (default true: the pool that
   * owns this server calls nextRound() as each round begins); false: a fresh buffer per frame.
   */
  pooledReceive?: boolean;
  /** Connection caps (tests use small ones). */
  admission?: AdmissionLimits;
  /** Serve wss:// with this certificate and key; with `clientCa`, workers must present a certificate it signed. */
  tls?: ServerTls;
  heartbeatMs?: number;
  pongDeadlineMs?: number;
  /** Until a connection's hello (default HANDSHAKE_TIMEOUT_MS; tests use short ones). */
  handshakeTimeoutMs?: number;
  log: (line: string) => void;
}

export interface ServerEvents {
  ready: [WorkerConn];
  lost: [WorkerConn, string];
  gradient: [WorkerConn, GradientMsg, number];
  evalResult: [WorkerConn, EvalResultMsg];
  diverged: [WorkerConn, DivergedMsg];
  /** A ready worker said it failed (its compute threw): it closes next. */
  failed: [WorkerConn, FailMsg];
  /** Sharded summation's messages from a ready connection (its listener judges whether it may send them). */
  mesh: [WorkerConn, MeshReadyMsg | PartMsg | SliceMsg];
}
