// Dataset specs as agreed between coordinator and workers; the coordinator sends one at the handshake and
// every worker builds (or loads) the same data and proves it by fingerprint. Where the files live
// (--data-dir) is each machine's own business and not part of the spec.

import { CIFAR_CLASSES, CIFAR_RECORDS_PER_FILE, CIFAR_TRAIN_FILES } from './cifar.js';
import { CIFAR100_CLASSES } from './cifar100.js';
import { TrainerError } from './errors.js';
import { MAX_SYNTHETIC_IMAGES } from './limits.js';
import { SYNTHETIC_CLASSES } from './synthetic.js';

interface CommonSpec {
  seed: number;
  valFraction: number;
  normalize: boolean;
  augment: boolean;
}

export interface SyntheticDatasetSpec extends CommonSpec {
  name: 'synthetic';
  trainSize: number;
  testSize: number;
}

export interface Cifar10DatasetSpec extends CommonSpec {
  /** CIFAR-10, or CIFAR-100 (fine labels): the same image format and splits. */
  name: 'cifar10' | 'cifar100';
  /** Use the first N training / test samples (0: all). */
  limitTrain: number;
  limitTest: number;
}

/** Your own images: one subfolder per class (`--dataset folder:PATH`), resized to 32x32 RGB. */
export interface FolderDatasetSpec extends CommonSpec {
  name: 'folder';
  /** The folder as the coordinator found it (a worker with its copy elsewhere: --data-dir). */
  path: string;
  /** The class names: the subfolders, sorted. */
  classes: string[];
  /** Images in all classes (the folder is checked against it on every machine). */
  images: number;
  /** The part of the images held out as the test split, drawn by seed. */
  testFraction: number;
}

export type DatasetSpec = SyntheticDatasetSpec | Cifar10DatasetSpec | FolderDatasetSpec;

/** Most images and classes a folder dataset may have. */
export const MAX_FOLDER_IMAGES = 500_000;
export const MAX_FOLDER_CLASSES = 256; // labels are bytes

/** Images of a folder dataset held out for testing: testFraction of them, at least one. */
export function folderTestCount(images: number, testFraction: number): number {
  return Math.max(1, Math.round(images * testFraction));
}

export const DATASET_NAMES = ['synthetic', 'cifar10', 'cifar100', 'folder:PATH'] as const;
export const CIFAR_TRAIN_SIZE = CIFAR_TRAIN_FILES.length * CIFAR_RECORDS_PER_FILE;
export const CIFAR_TEST_SIZE = CIFAR_RECORDS_PER_FILE;

/** The names of a dataset's classes, by label (no data needed). */
export function datasetClasses(spec: DatasetSpec): readonly string[] {
  if (spec.name === 'folder') return spec.classes;
  return spec.name === 'cifar10' ? CIFAR_CLASSES : spec.name === 'cifar100' ? CIFAR100_CLASSES : SYNTHETIC_CLASSES;
}

/** What a dataset's samples are: [height, width, channels] images of one of `classes` classes. */
export function datasetShape(spec: DatasetSpec): { inputShape: [number, number, number]; classes: number } {
  return { inputShape: [32, 32, 3], classes: datasetClasses(spec).length };
}

export function badDataset(msg: string, hint: string): never {
  throw new TrainerError('ERR_BAD_CONFIG', msg, { hint });
}

export function validateDatasetSpec(spec: DatasetSpec): void {
  if (!(spec.valFraction >= 0 && spec.valFraction < 1))
    badDataset(`--val-fraction ${spec.valFraction} must be in [0, 1)`, 'use e.g. --val-fraction 0.2');
  switch (spec.name) {
    case 'synthetic':
      if (!Number.isInteger(spec.trainSize) || spec.trainSize < 1 || spec.trainSize > MAX_SYNTHETIC_IMAGES) {
        const hint = 'use e.g. --train-size 6000 (for more images, use --dataset cifar10)';
        badDataset(`--train-size ${spec.trainSize} must be a whole number in 1..${MAX_SYNTHETIC_IMAGES}`, hint);
      }
      if (!Number.isInteger(spec.testSize) || spec.testSize < 1 || spec.testSize > MAX_SYNTHETIC_IMAGES) {
        badDataset(
          `--test-size ${spec.testSize} must be a whole number in 1..${MAX_SYNTHETIC_IMAGES}`,
          'use e.g. --test-size 1000',
        );
      }
      return;
    case 'cifar10':
    case 'cifar100':
      if (!Number.isInteger(spec.limitTrain) || spec.limitTrain < 0) {
        badDataset(`--limit-train ${spec.limitTrain} must be a whole number >= 0`, 'use 0 for all 50,000');
      }
      if (!Number.isInteger(spec.limitTest) || spec.limitTest < 0) {
        badDataset(`--limit-test ${spec.limitTest} must be a whole number >= 0`, 'use 0 for all 10,000');
      }
      return;
    case 'folder':
      return validateFolderSpec(spec);
    default:
      badDataset(
        `unknown dataset "${String((spec as { name: unknown }).name)}"`,
        `choose one of: ${DATASET_NAMES.join(', ')}`,
      );
  }
}

function validateFolderSpec(spec: FolderDatasetSpec): void {
  if (typeof spec.path !== 'string' || spec.path.length === 0 || spec.path.length > 4096)
    badDataset('folder dataset: no path', 'use --dataset folder:PATH');
  const c = spec.classes;
  if (!Array.isArray(c) || c.length < 2 || c.length > MAX_FOLDER_CLASSES || new Set(c).size !== c.length) {
    badDataset(
      `folder dataset: ${Array.isArray(c) ? c.length : 0} classes`,
      `give 2..${MAX_FOLDER_CLASSES} subfolders of distinct names, one per class`,
    );
  }
  if (c.some((n) => typeof n !== 'string' || n.length === 0 || n.length > 255))
    badDataset('folder dataset: a class name is not 1..255 characters', 'rename the subfolder');
  if (!Number.isInteger(spec.images) || spec.images < 2 || spec.images > MAX_FOLDER_IMAGES) {
    badDataset(`folder dataset: ${spec.images} images`, `give 2..${MAX_FOLDER_IMAGES} images`);
  }
  if (!(spec.testFraction > 0 && spec.testFraction < 1))
    badDataset(`--test-fraction ${spec.testFraction} must be in (0, 1)`, 'use e.g. --test-fraction 0.2');
}

function rawTrainSize(spec: DatasetSpec): number {
  if (spec.name === 'synthetic') return spec.trainSize;
  if (spec.name === 'folder') return spec.images - folderTestCount(spec.images, spec.testFraction);
  return spec.limitTrain > 0 ? Math.min(spec.limitTrain, CIFAR_TRAIN_SIZE) : CIFAR_TRAIN_SIZE;
}

/** Training samples left after the validation split is cut off. */
export function trainSplitSize(spec: DatasetSpec): number {
  const n = rawTrainSize(spec);
  return n - Math.floor(n * spec.valFraction);
}
