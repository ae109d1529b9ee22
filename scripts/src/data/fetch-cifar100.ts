// `dtrain data fetch cifar100`: train.bin, test.bin and the label names of CIFAR-100's binary version in a
// cache directory, from the official archive (downloaded, or a copy given with --archive). The archive's
// MD5 must be the one the CIFAR page gives; its files are then written atomically beside a manifest of their
// SHA-256 (dtrain-verified.json), which every later load checks. There is no second source: without network
// to the CIFAR site, download the archive elsewhere and pass --archive.

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  CIFAR100_ARCHIVE_MD5,
  CIFAR100_LAYOUT,
  CIFAR100_MANIFEST,
  CIFAR100_TEST_FILE,
  CIFAR100_TRAIN_FILE,
  CIFAR100_URL,
  parseCifarBatch,
  sha256Hex,
  TrainerError,
} from '@dtrain/common';
import { makeDir, writeFileAtomic, writeJsonAtomic } from '@dtrain/common/files';
import * as tar from 'tar';
import { download } from './fetch.js';

const FILES = [CIFAR100_TRAIN_FILE, CIFAR100_TEST_FILE, 'fine_label_names.txt', 'coarse_label_names.txt'];

type Log = (line: string) => void;

/** Whether `dir` holds the files of a verified archive, unchanged. */
export function cifar100Installed(dir: string): boolean {
  try {
    const recorded = JSON.parse(readFileSync(join(dir, CIFAR100_MANIFEST), 'utf8')) as Record<string, string>;
    return [CIFAR100_TRAIN_FILE, CIFAR100_TEST_FILE].every(
      (f) => sha256Hex(readFileSync(join(dir, f))) === recorded[f],
    );
  } catch {
    return false;
  }
}

/** Check the archive's MD5, extract it and install its files with their manifest into `dir`. */
export async function installCifar100Archive(
  archive: string,
  dir: string,
  log: Log,
  md5 = CIFAR100_ARCHIVE_MD5,
): Promise<void> {
  const got = createHash('md5').update(readFileSync(archive)).digest('hex');
  if (got !== md5) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `${archive} has MD5 ${got}; the official cifar-100-binary.tar.gz has ${md5}`,
      {
        hint: `download it again from ${CIFAR100_URL}; nothing was installed`,
      },
    );
  }
  makeDir(dir);
  const work = mkdtempSync(join(dir, '.extract-'));
  try {
    await tar.x({ file: archive, cwd: work });
    const src = join(work, 'cifar-100-binary');
    const manifest: Record<string, string> = {};
    for (const f of FILES) {
      if (!existsSync(join(src, f)))
        throw new TrainerError('ERR_BAD_CONFIG', `${archive} holds no cifar-100-binary/${f}`);
      const bytes = readFileSync(join(src, f));
      if (f.endsWith('.bin')) parseCifarBatch(bytes, f, CIFAR100_LAYOUT); // the format, before anything is installed
      manifest[f] = sha256Hex(bytes);
    }
    for (const f of FILES) writeFileAtomic(join(dir, f), readFileSync(join(src, f)));
    writeJsonAtomic(join(dir, CIFAR100_MANIFEST), manifest);
    log(`verified the archive's MD5; installed ${FILES.length} files in ${dir}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Make CIFAR-100 available in `dir` (idempotent): from `archive` if given, else the official download. */
export async function fetchCifar100(dir: string, log: Log, archive?: string): Promise<string> {
  if (!archive && cifar100Installed(dir)) {
    log(`CIFAR-100 in ${dir}: present and verified`);
    return dir;
  }
  if (archive) {
    await installCifar100Archive(archive, dir, log);
    return dir;
  }
  makeDir(dir);
  const work = mkdtempSync(join(dir, '.fetch-'));
  try {
    log(`downloading the official archive ${CIFAR100_URL}`);
    const file = join(work, 'cifar-100-binary.tar.gz');
    await download(CIFAR100_URL, file, log).catch((e: Error) => {
      throw new TrainerError('ERR_BAD_CONFIG', `could not get CIFAR-100: ${e.message}`, {
        hint: `download ${CIFAR100_URL} where you can, then: dtrain data fetch cifar100 --archive FILE`,
      });
    });
    await installCifar100Archive(file, dir, log);
    return dir;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
