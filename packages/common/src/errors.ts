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
  | 'ERR_DUPLICATE_GRADIENT'
  | 'ERR_UNEXPECTED_MESSAGE'
  | 'ERR_TOO_MANY_WORKERS'
  | 'ERR_PONG_TIMEOUT'
  | 'ERR_STEP_TIMEOUT'
  | 'ERR_CHECKPOINT'
  | 'ERR_BACKEND'
  | 'ERR_NO_WORKERS';

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
    default:
      return 1008;
  }
}

export function isTrainerError(e: unknown): e is TrainerError {
  return e instanceof TrainerError;
}
