// On-disk cache of generated image sets. Generating the embedded dataset's 12,000 default images takes
// about 3.5 s (every pixel needs exp, two sin and three normal draws), and the coordinator and every
// worker of a run build the same images. A cache file holds them once: keyed by a hash of the
// generator's own code and its arguments (so a changed generator never reads an old file), checked by a
// SHA-256 of its contents, and written to a temporary name and renamed (processes starting together
// may race; each rename installs a complete file). The cache is best effort: any problem regenerates.

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageSet } from './data.js';
import { makeDir } from './make-dir.js';

const DIGEST_BYTES = 32;

function digest(parts: readonly Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

function read(path: string, count: number, imageBytes: number): ImageSet | null {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return null;
  }
  if (file.length !== DIGEST_BYTES + count + count * imageBytes) return null;
  // Plain Uint8Array views (a Buffer's slice() would share memory where Uint8Array's copies).
  const labels = new Uint8Array(file.buffer, file.byteOffset + DIGEST_BYTES, count);
  const images = new Uint8Array(file.buffer, file.byteOffset + DIGEST_BYTES + count, count * imageBytes);
  if (!digest([labels, images]).equals(file.subarray(0, DIGEST_BYTES))) return null;
  return { images, labels, count };
}

function write(path: string, set: ImageSet): void {
  const tmp = `${path}.partial-${randomBytes(6).toString('hex')}`;
  try {
    makeDir(join(path, '..'));
    writeFileSync(tmp, Buffer.concat([digest([set.labels, set.images]), set.labels, set.images]));
    renameSync(tmp, path);
  } catch {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was written */
    }
  }
}

/**
 * The image set `make` builds, read from `dir` when a file for `key` is there and intact, else made and
 * stored. `key` must name everything the images depend on, the generator's code included. No `dir`: make.
 */
export function cachedImageSet(dir: string | undefined, key: string, count: number, imageBytes: number, make: () => ImageSet): ImageSet {
  if (!dir) return make();
  const path = join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.bin`);
  const hit = read(path, count, imageBytes);
  if (hit) return hit;
  const set = make();
  write(path, set);
  return set;
}
