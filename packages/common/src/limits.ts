// Named limits with units, in one place (STYLE.md #6; defaults after ws and tRPC keep-alive).

/**
 * Protocol version; bump on any incompatible change to protocol.ts (6: compressed gradient frames, welcome.gradWire;
 * 7: hello.slots; 10: weightsDelta, welcome.weightWire).
 */
export const PROTOCOL_VERSION = 11;

/** Coordinator pings every worker this often. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/** A worker that has not answered a ping within this time is terminated. */
export const PONG_DEADLINE_MS = 20_000;
/** Default deadline for one shard before it is reassigned to another worker: the ceiling of the adaptive one. */
export const STEP_TIMEOUT_MS = 120_000;
/** Adaptive shard deadline: this many times the recent median time per sample, times the shard's samples... */
export const ADAPTIVE_DEADLINE_FACTOR = 4;
/** ...but never less than this (jitter, a first step's warm-up)... */
export const ADAPTIVE_DEADLINE_FLOOR_MS = 2_000;
/** ...and only once this many shards were timed (until then: the ceiling, --step-timeout). */
export const ADAPTIVE_DEADLINE_MIN_SAMPLES = 8;
/** Most workers (connections that proved themselves) one coordinator accepts. */
export const MAX_WORKERS = 256;
/** Most connections at once that have not finished the handshake (ERR_TOO_MANY_CONNECTIONS past it: the oldest goes). */
export const MAX_PENDING_CONNECTIONS = 64;
/** Most unfinished handshakes from one remote address. */
export const MAX_PENDING_PER_ADDRESS = 8;
/** Time an HTTP upgrade request has to send its headers (slow senders are cut off). */
export const UPGRADE_HEADERS_TIMEOUT_MS = 5_000;
/** Frames before the handshake completes must be at most this large. */
export const MAX_HANDSHAKE_BYTES = 64 * 1024;
/** Room for message fields around the float payload. */
export const FRAME_OVERHEAD_BYTES = 64 * 1024;
/** Bytes a server's receive pools (reused buffers for large received frames) may hold in all. */
export const RECEIVE_POOL_BYTES = 512 * 1024 * 1024;
/** Largest global batch we plan (bounds index lists on the wire). */
export const MAX_BATCH_SIZE = 1 << 20;
/** Samples a worker computes in one assignment unless told otherwise (`dtrain worker --max-shard`): what it can hold. */
export const MAX_SHARD_SAMPLES = 32_768;
/** Generated images per split (the embedded dataset): a peer cannot make a worker generate more. */
export const MAX_SYNTHETIC_IMAGES = 100_000;
/** Worker-side cap on incoming frames before the manifest is known. */
export const MAX_CLIENT_FRAME_BYTES = 1 << 30;
/** Time from connection to a valid hello (a worker answers the challenge at once). */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Time from welcome to ready: the worker may be fetching and verifying the dataset. */
export const DATA_PREP_TIMEOUT_MS = 15 * 60_000;
/** Reconnect backoff for workers: first delay, cap. */
export const RECONNECT_INITIAL_MS = 250;
export const RECONNECT_MAX_MS = 5_000;

/** Largest frame the coordinator accepts once the model is known: a gradient plus overhead. */
export function maxMessageBytes(paramCount: number): number {
  return paramCount * 4 + FRAME_OVERHEAD_BYTES;
}

/** Largest frame a coordinator accepts from a worker: a handshake frame until ready, then a gradient. */
export function maxWorkerFrameBytes(ready: boolean, paramCount: number): number {
  return ready ? maxMessageBytes(paramCount) : MAX_HANDSHAKE_BYTES;
}

/**
 * Largest frame a worker accepts from the coordinator: a handshake frame before the welcome, then the
 * weights, or an index list as long as the training set (u32 each, with room).
 */
export function maxCoordinatorFrameBytes(paramCount: number, trainSize: number): number {
  return paramCount > 0
    ? Math.min(MAX_CLIENT_FRAME_BYTES, maxMessageBytes(paramCount) + 8 * trainSize)
    : MAX_HANDSHAKE_BYTES;
}
