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

/** Load CIFAR-10 from a directory of the six official binary files. */
export function loadCifar10(dir: string, o: CifarLoadOptions): InMemoryDataset {
  const train = limitSet(concatSets(CIFAR_TRAIN_FILES.map((f) => readBatch(dir, f, o.verify))), o.limitTrain);
  const test = limitSet(readBatch(dir, CIFAR_TEST_FILE, o.verify), o.limitTest);
  return new InMemoryDataset('cifar10', CIFAR_CLASSES.length, train, test, o, `cifar10:${o.limitTrain}:${o.limitTest}`);
}
