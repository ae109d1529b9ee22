// How large a frame the coordinator may send this worker, enforced by ws itself before it buffers one:
// a handshake frame until the welcome (so a fake coordinator cannot make a worker hold a 1 GiB frame
// before proving anything), then what the run needs (weights, index lists). ws fixes maxPayload when the
// connection opens; raising it later sets its receiver's limit, a field of ws 8 that a test checks, so
// an upgrade that renames it fails there instead of leaving the worker with the small limit.

import { MAX_HANDSHAKE_BYTES, SESSION_TAG_BYTES } from '@dtrain/common';
import type WebSocket from 'ws';

/** The limit a connection opens with: a handshake frame (sealed: plus its tag). */
export const HANDSHAKE_PAYLOAD_BYTES = MAX_HANDSHAKE_BYTES + SESSION_TAG_BYTES;

interface WithReceiver {
  _receiver?: { _maxPayload?: unknown } | null;
}

/** Set the largest frame ws accepts on this open connection; false if this ws has no such limit to set. */
export function setMaxPayload(ws: WebSocket, bytes: number): boolean {
  const receiver = (ws as unknown as WithReceiver)._receiver;
  if (!receiver || typeof receiver._maxPayload !== 'number') return false;
  receiver._maxPayload = bytes + SESSION_TAG_BYTES;
  return true;
}
