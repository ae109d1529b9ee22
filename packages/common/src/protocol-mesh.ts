// The messages of sharded summation (slices.ts): the coordinator tells each host server (relay) the
// mesh it is part of; host servers link to every other owner and say so; each host sends owner j slice
// j of its node's gradient sum (`part`); owner j sends the coordinator slice j summed over the batch
// (`slice`); the coordinator sends owner j slice j of the new weights (`weights` with `slice`), which
// owner j passes on to the other hosts. Each is validated here, once; exact slice lengths are checked
// against the mesh's layout where it is known (the owner's join, the coordinator's reducer).

import { MAX_BATCH_SIZE, MAX_WORKERS } from './limits.js';
import type { ParseContext } from './protocol.js';
import { bool, fail, int, type Obj, wireGradient } from './protocol-fields.js';
import { MAX_CHUNKS, MAX_SLICES } from './slices.js';

/**
 * Coordinator -> host server: the owners' mesh servers in owner order, which one this host is, and how many
 * slices each owner holds (`chunks`: the vector is cut into owners x chunks slices, owner j holding the
 * j-th run of `chunks` of them; slices.ts).
 */
export interface MeshMsg {
  kind: 'mesh';
  epoch: number;
  index: number;
  owners: string[];
  chunks: number;
}
/** Host server -> coordinator: its links to every other owner of `epoch` are up. */
export interface MeshReadyMsg {
  kind: 'meshReady';
  epoch: number;
}
/** Host -> owner `index`: that slice of node [lo, hi)'s gradient sum (the step's tree has `groups` groups). */
export interface PartMsg {
  kind: 'part';
  epoch: number;
  step: number;
  version: number;
  index: number;
  lo: number;
  hi: number;
  groups: number;
  /** A checkpointed step's: sent uncompressed, and the owner's error-feedback residual starts over. */
  flush?: boolean;
  grad: Float32Array;
}
/** Owner -> coordinator: slice `index` of the step's gradient, summed over the whole batch. */
export interface SliceMsg {
  kind: 'slice';
  epoch: number;
  step: number;
  version: number;
  index: number;
  grad: Float32Array;
}

const MAX_URL_CHARS = 300;
const MESH_URL = /^wss?:\/\/[^\s/]+$/;

export function parseMesh(o: Obj): MeshMsg {
  const owners = o['owners'];
  if (!Array.isArray(owners) || owners.length < 1 || owners.length > MAX_WORKERS)
    fail('ERR_BAD_FRAME', `field "owners" must be a list of 1 to ${MAX_WORKERS} addresses`);
  const urls = owners.map((u, i) => {
    if (typeof u !== 'string' || u.length > MAX_URL_CHARS || !MESH_URL.test(u))
      fail('ERR_BAD_FRAME', `owner ${i} is not a ws:// or wss:// address`);
    return u;
  });
  const chunks = int(o, 'chunks', 1, MAX_CHUNKS);
  return { kind: 'mesh', epoch: int(o, 'epoch'), index: int(o, 'index', 0, urls.length - 1), owners: urls, chunks };
}

export function parseMeshReady(o: Obj): MeshReadyMsg {
  return { kind: 'meshReady', epoch: int(o, 'epoch') };
}

export function parsePart(o: Obj, ctx: ParseContext): PartMsg {
  const groups = int(o, 'groups', 1, MAX_BATCH_SIZE);
  const lo = int(o, 'lo', 0, groups - 1);
  const hi = int(o, 'hi', lo + 1, groups);
  const flush = o['flush'] === undefined ? {} : { flush: bool(o, 'flush') };
  return {
    kind: 'part',
    ...stepOf(o),
    lo,
    hi,
    groups,
    ...flush,
    grad: wireGradient(o, ctx.paramCount, ctx, true),
  };
}

/** Values in any gradient wire (compress.ts), expanded to float32 here, at the boundary. */
export function parseSlice(o: Obj, ctx: ParseContext): SliceMsg {
  return { kind: 'slice', ...stepOf(o), grad: wireGradient(o, ctx.paramCount, ctx, true) };
}

function stepOf(o: Obj): { epoch: number; step: number; version: number; index: number } {
  return { epoch: int(o, 'epoch'), step: int(o, 'step'), version: int(o, 'version'), index: indexOf(o) };
}

function indexOf(o: Obj): number {
  return int(o, 'index', 0, MAX_SLICES - 1);
}
