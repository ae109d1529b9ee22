// Whole-file writes that a crash or a concurrent writer never leaves half done: write a uniquely named
// sibling, optionally fsync it, then rename it over the target (rename is atomic within a directory).

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface AtomicWriteOptions {
  /** fsync the file before the rename (checkpoints: durable once the name is there). */
  durable?: boolean;
}

/** Write `data` to `path` all at once or not at all. */
export function writeFileAtomic(path: string, data: Uint8Array | string, o: AtomicWriteOptions = {}): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    writeAll(tmp, bytes, o.durable === true);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Write every byte to a new file, fsynced if asked. */
export function writeAll(path: string, data: Uint8Array, durable: boolean): void {
  const fd = openSync(path, 'w');
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** `writeFileAtomic` of pretty JSON with a final newline. */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n');
}
