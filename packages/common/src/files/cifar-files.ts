// Reading CIFAR-10 binary files from a directory: every file is size- and format-checked, and by default
// its SHA-256 must match the official one.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CIFAR_CLASSES,
  CIFAR_SHA256,
  CIFAR_TEST_FILE,
  CIFAR_TRAIN_FILES,
  concatSets,
  limitSet,
  parseCifarBatch,
} from '../cifar.js';
import {
  CIFAR100_CLASSES,
  CIFAR100_LAYOUT,
  CIFAR100_MANIFEST,
  CIFAR100_TEST_FILE,
  CIFAR100_TRAIN_FILE,
} from '../cifar100.js';
import { type DatasetOptions, type ImageSet, InMemoryDataset } from '../data.js';
import { sha256Hex } from '../digest.js';
import { TrainerError } from '../errors.js';

/** Files of `dir` whose SHA-256 differs from the official one (missing files are listed as such). */
export function checkCifarFiles(dir: string): { missing: string[]; mismatched: string[] } {
  const missing: string[] = [];
  const mismatched: string[] = [];
  for (const f of [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE]) {
    const p = join(dir, f);
    if (!existsSync(p)) missing.push(f);
    else if (sha256Hex(readFileSync(p)) !== CIFAR_SHA256[f]) mismatched.push(f);
  }
  return { missing, mismatched };
}

export interface CifarLoadOptions extends DatasetOptions {
  limitTrain: number;
  limitTest: number;
  /** Require the official SHA-256 of every file (off only for tests with generated files). */
  verify: boolean;
}

function readBatch(dir: string, file: string, verify: boolean): ImageSet {
  const p = join(dir, file);
  if (!existsSync(p)) {
    throw new TrainerError('ERR_BAD_CONFIG', `CIFAR-10 file ${p} is missing`, {
      hint: `run: dtrain data fetch cifar10 --dir ${dir}`,
    });
  }
  const bytes = readFileSync(p);
  if (verify && sha256Hex(bytes) !== CIFAR_SHA256[file]) {
    throw new TrainerError('ERR_BAD_CONFIG', `CIFAR-10 file ${p} does not match its official SHA-256`, {
      hint: `delete it and run: dtrain data fetch cifar10 --dir ${dir}`,
    });
  }
  return parseCifarBatch(bytes, p);
}

/** The SHA-256 of CIFAR-100's files as recorded when they were extracted from the verified archive (null: none). */
function cifar100Manifest(dir: string): Record<string, string> | null {
  try {
    return JSON.parse(readFileSync(join(dir, CIFAR100_MANIFEST), 'utf8')) as Record<string, string>;
  } catch {
    return null;
  }
}

function readCifar100(dir: string, file: string, verify: boolean): ImageSet {
  const p = join(dir, file);
  const hint = `run: dtrain data fetch cifar100 --dir ${dir}`;
  if (!existsSync(p)) throw new TrainerError('ERR_BAD_CONFIG', `CIFAR-100 file ${p} is missing`, { hint });
  const bytes = readFileSync(p);
  const recorded = verify ? cifar100Manifest(dir) : null;
  if (verify && !recorded)
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `${dir} holds CIFAR-100 files that were not extracted from the verified archive`,
      {
        hint,
      },
    );
  if (recorded && sha256Hex(bytes) !== recorded[file]) {
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `CIFAR-100 file ${p} changed since it was extracted from the verified archive`,
      {
        hint: `delete ${dir} and ${hint.replace('run: ', '')}`,
      },
    );
  }
  return parseCifarBatch(bytes, p, CIFAR100_LAYOUT);
}

/** Load CIFAR-100 (fine labels) from a directory holding train.bin and test.bin. */
export function loadCifar100(dir: string, o: CifarLoadOptions): InMemoryDataset {
  const train = limitSet(readCifar100(dir, CIFAR100_TRAIN_FILE, o.verify), o.limitTrain);
  const test = limitSet(readCifar100(dir, CIFAR100_TEST_FILE, o.verify), o.limitTest);
  return new InMemoryDataset(
    'cifar100',
    CIFAR100_CLASSES.length,
    train,
    test,
    o,
    `cifar100:${o.limitTrain}:${o.limitTest}`,
  );
}

/** Load CIFAR-10 from a directory of the six official binary files. */
export function loadCifar10(dir: string, o: CifarLoadOptions): InMemoryDataset {
  const train = limitSet(concatSets(CIFAR_TRAIN_FILES.map((f) => readBatch(dir, f, o.verify))), o.limitTrain);
  const test = limitSet(readBatch(dir, CIFAR_TEST_FILE, o.verify), o.limitTest);
  return new InMemoryDataset('cifar10', CIFAR_CLASSES.length, train, test, o, `cifar10:${o.limitTrain}:${o.limitTest}`);
}
