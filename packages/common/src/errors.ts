// One error class with stable codes (STYLE.md #7; after ws `WS_ERR_*` and PnpmError + hint).

export type ErrorCode =
  | 'ERR_BAD_CONFIG'
  | 'ERR_BAD_FRAME'
  | 'ERR_FRAME_TOO_LARGE'
  | 'ERR_UNKNOWN_KIND'
  | 'ERR_SHAPE_MISMATCH'
  | 'ERR_NON_FINITE'
  | 'ERR_PROTOCOL_VERSION'
  | 'ERR_AUTH_FAILED'
  | 'ERR_MODEL_MISMATCH'
  | 'ERR_DATASET_MISMATCH'
  | 'ERR_STALE_GRADIENT'
  | 'ERR_STALE_RESULT'
  | 'ERR_DUPLICATE_GRADIENT'
  | 'ERR_UNEXPECTED_MESSAGE'
  | 'ERR_TOO_MANY_WORKERS'
  | 'ERR_TOO_MANY_CONNECTIONS'
  | 'ERR_PONG_TIMEOUT'
  | 'ERR_STEP_TIMEOUT'
  | 'ERR_CHECKPOINT'
  | 'ERR_BACKEND'
  | 'ERR_NO_WORKERS'
  | 'ERR_DIVERGED'
  | 'ERR_BAD_INPUT'
  /** A weight delta that does not apply to the weights this process holds (a missed version, a digest that differs). */
  | 'ERR_VIEW_MISMATCH'
  /** A worker could not compute a task it was given (its model or backend failed, not the frame). */
  | 'ERR_COMPUTE';

export interface TrainerErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class TrainerError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: TrainerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TrainerError';
    this.code = code;
    this.hint = options.hint;
  }

  /** Message plus hint, for printing to a person. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

/** WebSocket close code for an error: 1008 policy violation, 1009 too big, 1011 server error. */
export function closeCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'ERR_FRAME_TOO_LARGE':
      return 1009;
    case 'ERR_CHECKPOINT':
    case 'ERR_BACKEND':
      return 1011;
    case 'ERR_TOO_MANY_CONNECTIONS': // no room now: try again later
    case 'ERR_TOO_MANY_WORKERS':
      return 1013;
    default:
      return 1008;
  }
}

export function isTrainerError(e: unknown): e is TrainerError {
  return e instanceof TrainerError;
}

/** WebSocket close reasons are capped at 123 UTF-8 bytes (RFC 6455 5.5); ws throws past that. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** `text` cut to at most `maxBytes` of UTF-8, never inside a character. */
export function utf8Prefix(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; // a lone surrogate is written as U+FFFD: 3
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return text.slice(0, end);
}

/** Anything with ws' `close(code, reason)`; kept structural so this module stays free of sockets. */
export interface Closable {
  close(code: number, reason: string): void;
}

/**
 * Close with one of our own codes as the reason (never the peer's input), byte-bounded, and never
 * throwing: a close on a socket that is already failing must not escape a frame handler.
 */
export function closeWith(target: Closable, code: number, reason: ErrorCode | string): void {
  try {
    target.close(code, utf8Prefix(reason, MAX_CLOSE_REASON_BYTES));
  } catch {
    /* the socket is already closing or gone: nothing more to say on it */
  }
}

const CLOSE_WORDS: Record<number, string> = {
  1000: 'closed normally',
  1001: 'going away',
  1005: 'closed without a status',
  1006: 'connection dropped (no close frame)',
  1008: 'refused',
  1009: 'frame too large',
  1011: 'failed',
  1013: 'to try again later',
};

/** A WebSocket close in words: `closed normally: run finished`, `connection dropped (no close frame)`, `code 4000`. */
export function closeWords(code: number, reason: string): string {
  const words = CLOSE_WORDS[code] ?? `code ${code}`;
  return reason ? `${words}: ${reason}` : words;
}

/** An error thrown while computing a task, as a worker reports it: its own code, or ERR_COMPUTE. */
export function computeError(e: unknown): TrainerError {
  if (e instanceof TrainerError) return e;
  return new TrainerError('ERR_COMPUTE', String((e as Error | undefined)?.message ?? e));
}

/** A step whose gradient, or whose update, is not finite: nothing of it was applied. */
export function divergedError(step: number, lr: number, what: string): TrainerError {
  return new TrainerError(
    'ERR_DIVERGED',
    `training diverged at step ${step} (lr ${lr.toPrecision(3)}): ${what}; nothing of this step was applied`,
    {
      hint: `lower --lr (e.g. ${(lr / 10).toPrecision(2)}) or add --warmup-steps; the last good checkpoint is kept`,
    },
  );
}
