// Building the dataset a spec names on this machine: the embedded one is generated (through the on-disk
// cache when one is given), CIFAR-10 is read from its directory.

import type { Dataset } from '../data.js';
import { badDataset, type DatasetSpec, validateDatasetSpec } from '../datasets.js';
import { syntheticDataset } from '../synthetic.js';
import { loadCifar10, loadCifar100 } from './cifar-files.js';
import { loadFolderDataset } from './folder-dataset.js';
import { cachedSyntheticSource } from './synthetic-files.js';

export interface DataLocation {
  /** Directory with the CIFAR-10 or CIFAR-100 files, or this machine's copy of a folder dataset (empty: the spec's path). */
  cifarDir?: string;
  /** Check official checksums (default true). */
  verify?: boolean;
  /** Where generated (synthetic) images are cached; none: generate every time. */
  syntheticCacheDir?: string;
}

/** Build the dataset a spec names: the embedded one is generated, CIFAR and folders are read from `loc.cifarDir`. */
export function buildDataset(spec: DatasetSpec, loc: DataLocation = {}): Dataset {
  validateDatasetSpec(spec);
  const opts = { valFraction: spec.valFraction, normalize: spec.normalize, augment: spec.augment };
  if (spec.name === 'synthetic')
    return syntheticDataset(
      spec,
      opts,
      loc.syntheticCacheDir ? cachedSyntheticSource(loc.syntheticCacheDir) : undefined,
    );
  if (spec.name === 'folder') return loadFolderDataset(spec, opts, loc.cifarDir || spec.path);
  if (!loc.cifarDir)
    badDataset(`no ${spec.name} directory given`, `pass --data-dir DIR or run: dtrain data fetch ${spec.name}`);
  const load = spec.name === 'cifar100' ? loadCifar100 : loadCifar10;
  return load(loc.cifarDir, {
    ...opts,
    limitTrain: spec.limitTrain,
    limitTest: spec.limitTest,
    verify: loc.verify ?? true,
  });
}
