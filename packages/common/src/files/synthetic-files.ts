// On-disk cache of generated image sets. Generating the embedded dataset's 12,000 default images takes
// about 3.5 s (every pixel needs exp, two sin and three normal draws), and the coordinator and every
// worker of a run build the same images. A cache file holds them once: keyed by a hash of the
// generator's own code and its arguments (so a changed generator never reads an old file), checked by a
// SHA-256 of its contents, and written to a temporary name and renamed (processes starting together
// may race; each rename installs a complete file). The cache is best effort: any problem regenerates.
// It keeps the MAX_CACHED_SETS most recently used sets (a hit marks its file used), so sweeps over many
// seeds do not fill the disk: the default demo set is 37 MB.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageSet } from '../data.js';
import { type ImageSource, SYNTHETIC_GENERATOR } from '../synthetic.js';
import { makeDir } from './make-dir.js';
import { writeFileAtomic } from './write-atomic.js';

const DIGEST_BYTES = 32;
export const MAX_CACHED_SETS = 8;

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
  try {
    makeDir(join(path, '..'));
    writeFileAtomic(path, Buffer.concat([digest([set.labels, set.images]), set.labels, set.images]));
    evictOldest(join(path, '..'));
  } catch {
    /* best effort: the images are in memory either way */
  }
}

/** The file of the set with this key. */
export function cacheFileName(key: string): string {
  return `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.bin`;
}

/** Remove the least recently used sets beyond MAX_CACHED_SETS (another process may remove them first). */
function evictOldest(dir: string): void {
  const sets = readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .flatMap((f) => {
      try {
        return [{ f, used: statSync(join(dir, f)).mtimeMs }];
      } catch {
        return [];
      }
    });
  sets.sort((a, b) => b.used - a.used);
  for (const s of sets.slice(MAX_CACHED_SETS)) rmSync(join(dir, s.f), { force: true });
}

/**
 * The image set `make` builds, read from `dir` when a file for `key` is there and intact, else made and
 * stored. `key` must name everything the images depend on, the generator's code included. No `dir`: make.
 */
export function cachedImageSet(
  dir: string | undefined,
  key: string,
  count: number,
  imageBytes: number,
  make: () => ImageSet,
): ImageSet {
  if (!dir) return make();
  const path = join(dir, cacheFileName(key));
  const hit = read(path, count, imageBytes);
  if (hit) {
    try {
      // Sub-millisecond, so a set used after another was written is newer than it (file writes get the kernel's coarse clock).
      const now = (performance.timeOrigin + performance.now()) / 1000;
      utimesSync(path, now, now);
    } catch {
      /* marking it used is best effort too */
    }
    return hit;
  }
  const set = make();
  write(path, set);
  return set;
}

/** Generated images read from (and written to) the cache in `dir`. */
export function cachedSyntheticSource(dir: string): ImageSource {
  return (count, seed, split, make) =>
    cachedImageSet(dir, `${SYNTHETIC_GENERATOR}\n${count} ${seed} ${split}`, count, 32 * 32 * 3, make);
}
