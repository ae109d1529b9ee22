// How a worker reads what ends a connection: a coordinator's refusal is temporary (no room: retry later),
// permanent (a configuration error no retry fixes: exit 2), or neither (tampering, a bug, a hostile
// peer: drop this connection and dial again); and a failed dial in words a person can act on.

import {
  type ChallengeMsg,
  decode,
  MAX_HANDSHAKE_BYTES,
  PROTOCOL_VERSION,
  parseCoordinatorMsg,
  printable,
  RECONNECT_MAX_MS,
  type RejectMsg,
} from '@dtrain/common';

/** Refusals of our hello that arrive in plain: the coordinator holds no key we share. */
const IN_PLAIN: ReadonlySet<string> = new Set(['ERR_AUTH_FAILED', 'ERR_PROTOCOL_VERSION']);
/** Refusals no retry can fix. */
const PERMANENT: ReadonlySet<string> = new Set([...IN_PLAIN, 'ERR_MODEL_MISMATCH', 'ERR_DATASET_MISMATCH']);
const NO_ROOM: ReadonlySet<string> = new Set(['ERR_TOO_MANY_CONNECTIONS', 'ERR_TOO_MANY_WORKERS']);

/** A refused token is believed (a configuration error) on this many connections in a row; before that it costs a reconnect. */
export const AUTH_REFUSALS_BELIEVED = 3;

export type Verdict =
  | { kind: 'retry'; line: string }
  | { kind: 'permanent'; reason: string }
  /** `doubted`: a refused token not yet believed (worth a log line, not a warning). */
  | { kind: 'reconnect'; line: string; doubted?: boolean };

/**
 * What a refusal means for this worker. A permanent one is believed only once our hello is out (before
 * it, a coordinator sends nothing but a challenge or "no room"): a forged refusal costs a reconnect.
 */
export function judgeRefusal(msg: RejectMsg, url: string, helloSent: boolean): Verdict {
  const said = `${msg.code}: ${printable(msg.message, 1000)}`;
  if (NO_ROOM.has(msg.code)) return { kind: 'retry', line: `locked out for now: ${printable(said)}` };
  if (!PERMANENT.has(msg.code) || !helloSent)
    return { kind: 'reconnect', line: `the coordinator refused this connection (${said}); reconnecting` };
  if (msg.code !== 'ERR_AUTH_FAILED') return { kind: 'permanent', reason: `rejected by coordinator: ${said}` };
  return {
    kind: 'permanent',
    reason:
      `the coordinator at ${url} refused our token (ERR_AUTH_FAILED): this worker's token is not the coordinator's; ` +
      "pass the coordinator's --token, --token-file or DTRAIN_TOKEN",
  };
}

/**
 * Refusals across the connections of one worker or relay: judgeRefusal, with a refused token believed only
 * on AUTH_REFUSALS_BELIEVED connections in a row (a wrong token and a hello changed on the path look the
 * same to the coordinator, and tampering costs a reconnect).
 */
export class RefusalJudge {
  private authRefusals = 0;

  constructor(private readonly url: string) {}

  /** A welcome: the token was good. */
  welcomed(): void {
    this.authRefusals = 0;
  }

  judge(msg: RejectMsg, helloSent: boolean): Verdict {
    const verdict = judgeRefusal(msg, this.url, helloSent);
    if (verdict.kind !== 'permanent' || msg.code !== 'ERR_AUTH_FAILED' || ++this.authRefusals >= AUTH_REFUSALS_BELIEVED)
      return verdict;
    const line = `the coordinator refused our token (${this.authRefusals} of ${AUTH_REFUSALS_BELIEVED} in a row before it is believed); dialling again`;
    return { kind: 'reconnect', line, doubted: true };
  }
}

/** A plaintext `reject` of a permanent kind (a frame a worker in session reads unsealed before the welcome); anything else is not. */
/** A challenge this worker cannot answer, for good (exit 2): another protocol version, or a token it does not hold. */
export function unanswerableChallenge(msg: ChallengeMsg, hasToken: boolean): { reason: string; close: string } | null {
  if (msg.protocol !== PROTOCOL_VERSION) {
    const why = `the coordinator speaks protocol ${msg.protocol}, this worker ${PROTOCOL_VERSION}: run the same dtrain version on both`;
    return { reason: `ERR_PROTOCOL_VERSION: ${why}`, close: 'ERR_PROTOCOL_VERSION' };
  }
  if (msg.auth && !hasToken)
    return { reason: 'the coordinator requires a token: pass --token or set DTRAIN_TOKEN', close: 'no token' };
  return null;
}

export function isPlainRefusal(data: Buffer): boolean {
  try {
    const msg = parseCoordinatorMsg(decode(data, MAX_HANDSHAKE_BYTES), { paramCount: 0, trainSize: 0, evalSize: 0 });
    return msg.kind === 'reject' && IN_PLAIN.has(msg.code);
  } catch {
    return false;
  }
}

/** TLS verification failures, told apart from "no coordinator" so a person sees what to fix. */
const TLS_ERROR = /certificate|self[- ]signed|altname|CERT_|SSL|TLS/i;

/** A connection error in words; certificate problems say so and how to fix them. */
export function describeConnectError(e: Error & { code?: string }): string {
  const text = `${e.message}${e.code && !e.message.includes(e.code) ? ` (${e.code})` : ''}`;
  if (!TLS_ERROR.test(`${e.code ?? ''} ${e.message}`)) return text;
  return `TLS: the coordinator's certificate was not accepted: ${text}; pass --tls-ca with the CA that signed it (and check the host name in --connect)`;
}

/** A worker that keeps failing to connect says so again this often. */
const STILL_WAITING_EVERY_MS = 30_000;

/**
 * Says why a connection ended: after a welcome, every time; before one (no coordinator yet, or the
 * coordinator refused us), the first time and then when the reason changes, so a locked-out worker is
 * never silent and a waiting one does not flood the log.
 */
export class CloseReporter {
  private lastRefusal = '';
  private waitingSince = 0;
  private lastReport = 0;

  constructor(
    private readonly url: string,
    private readonly warn: (line: string) => void,
    private readonly everyMs = STILL_WAITING_EVERY_MS,
  ) {}

  report(welcomed: boolean, code: number, reason: string): void {
    if (welcomed) {
      this.warn(`connection closed (${code} ${reason || 'no reason'}); reconnecting`);
      this.lastRefusal = '';
      return;
    }
    const why = reason.startsWith('TLS:')
      ? reason
      : /WS_ERR_/.test(reason)
        ? `the coordinator broke the WebSocket protocol (${reason})`
        : code === 1006
          ? `no coordinator at ${this.url} (${reason || 'connection failed'})`
          : `the coordinator refused the connection (${code} ${reason || 'no reason'})`;
    const now = Date.now();
    if (why !== this.lastRefusal) {
      this.warn(`${why}; retrying (every ${RECONNECT_MAX_MS / 1000} s at most)`);
      this.waitingSince = now;
      this.lastReport = now;
    } else if (now - this.lastReport >= this.everyMs) {
      this.warn(`still waiting (${Math.round((now - this.waitingSince) / 1000)} s): ${why}`);
      this.lastReport = now;
    }
    this.lastRefusal = why;
  }
}
