// `--dataset folder:PATH`: your own images, one subfolder per class (its name is the class name), PNG or
// JPEG of any size, resized to 32x32 RGB. Scanned once where the run starts (classes and image count go into
// the dataset spec), loaded on every machine from its copy (the same classes and count, then the data's
// fingerprint, or the worker is refused). The test split is a fixed draw of testFraction of the images by the
// run's seed; the validation split is cut off the rest as for every dataset.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DatasetOptions, type ImageSet, InMemoryDataset } from '../data.js';
import { type FolderDatasetSpec, folderTestCount, MAX_FOLDER_CLASSES, MAX_FOLDER_IMAGES } from '../datasets.js';
import { TrainerError } from '../errors.js';
import { hashInts, Rng } from '../rng.js';
import { decodeImage, isImageFile, resizeRgb } from './image-files.js';

const SIDE = 32;
/** Largest image file read. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

function refuse(message: string, hint: string): never {
  throw new TrainerError('ERR_BAD_CONFIG', message, { hint });
}

/** The class subfolders of `path` (sorted) and their image files (sorted); refuses what cannot be a dataset. */
export function scanImageFolder(path: string): { classes: string[]; files: string[][] } {
  let entries: string[];
  try {
    entries = readdirSync(path).sort();
  } catch (e) {
    return refuse(
      `--dataset folder:${path}: ${(e as Error).message}`,
      'give a folder with one subfolder of images per class',
    );
  }
  const classes = entries.filter((e) => !e.startsWith('.') && statSync(join(path, e)).isDirectory());
  if (classes.length < 2 || classes.length > MAX_FOLDER_CLASSES) {
    refuse(
      `--dataset folder:${path}: ${classes.length} class subfolder(s)`,
      `give 2..${MAX_FOLDER_CLASSES} subfolders, one per class`,
    );
  }
  const files = classes.map((c) => readdirSync(join(path, c)).filter(isImageFile).sort());
  const empty = classes.filter((_, i) => files[i]!.length === 0);
  if (empty.length) {
    refuse(
      `--dataset folder:${path}: class "${empty[0]}" has no images${empty.length > 1 ? ` (and ${empty.length - 1} more)` : ''}`,
      'put PNG or JPEG files in every class subfolder, or remove the empty ones',
    );
  }
  const total = files.reduce((n, f) => n + f.length, 0);
  if (total > MAX_FOLDER_IMAGES)
    refuse(`--dataset folder:${path}: ${total} images`, `use at most ${MAX_FOLDER_IMAGES}`);
  return { classes, files };
}

/** The spec of the folder dataset at `path` (scanned now). */
export function folderDatasetSpec(
  path: string,
  o: DatasetOptions & { seed: number; testFraction: number },
): FolderDatasetSpec {
  const abs = resolve(path);
  const { classes, files } = scanImageFolder(abs);
  const images = files.reduce((n, f) => n + f.length, 0);
  return { name: 'folder', path: abs, classes, images, ...o };
}

/** Load the folder dataset of `spec` from `dir` (default: the path in the spec). */
export function loadFolderDataset(spec: FolderDatasetSpec, o: DatasetOptions, dir = spec.path): InMemoryDataset {
  const { classes, files } = scanImageFolder(dir);
  const count = files.reduce((n, f) => n + f.length, 0);
  if (classes.join('\n') !== spec.classes.join('\n') || count !== spec.images) {
    refuse(
      `${dir} has ${classes.length} classes and ${count} images; the run's folder has ${spec.classes.length} and ${spec.images}`,
      "give this machine a copy of the run's folder (--data-dir DIR)",
    );
  }
  const images = new Uint8Array(count * SIDE * SIDE * 3);
  const labels = new Uint8Array(count);
  let at = 0;
  classes.forEach((c, label) => {
    for (const f of files[label]!) {
      const p = join(dir, c, f);
      if (statSync(p).size > MAX_FILE_BYTES)
        refuse(`${p} is larger than ${MAX_FILE_BYTES >> 20} MiB`, 'remove or shrink it');
      images.set(resizeRgb(decodeImage(p, readFileSync(p)), SIDE), at * SIDE * SIDE * 3);
      labels[at++] = label;
    }
  });
  const { train, test } = splitBySeed({ images, labels, count }, folderTestCount(count, spec.testFraction), spec.seed);
  return new InMemoryDataset(
    'folder',
    classes.length,
    train,
    test,
    o,
    `folder:${count}:${spec.testFraction}:${spec.seed}`,
  );
}

/** A fixed draw of `testCount` images (by seed) as the test split; the rest, in the draw's order, trains. */
function splitBySeed(all: ImageSet, testCount: number, seed: number): { train: ImageSet; test: ImageSet } {
  const order = Array.from({ length: all.count }, (_, i) => i);
  const rng = new Rng(hashInts(seed, 0xf01d));
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const take = (idx: number[]): ImageSet => {
    const px = SIDE * SIDE * 3;
    const images = new Uint8Array(idx.length * px);
    const labels = new Uint8Array(idx.length);
    idx.forEach((k, i) => {
      images.set(all.images.subarray(k * px, (k + 1) * px), i * px);
      labels[i] = all.labels[k]!;
    });
    return { images, labels, count: idx.length };
  };
  return { test: take(order.slice(0, testCount)), train: take(order.slice(testCount)) };
}
