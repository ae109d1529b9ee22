// `dtrain data fetch cifar10`: download and verify a dataset into the cache (or --dir).

import type { Argv } from 'yargs';
import { defaultCifarDir, fetchCifar10 } from '../data/fetch.js';
import { ignoredTokenOptions } from '../options/options.js';

export function dataCommand(y: Argv): Argv {
  return y.command(
    'data fetch <dataset>',
    'download and verify a dataset into the cache (or --dir)',
    (d) =>
      ignoredTokenOptions(d)
        .positional('dataset', { choices: ['cifar10'] as const, demandOption: true, describe: 'dataset to fetch' })
        .option('dir', { type: 'string', describe: `target directory (default: ${defaultCifarDir()})` }),
    async (a) => {
      const dir = await fetchCifar10(a.dir ?? defaultCifarDir(), (l) => process.stderr.write(l + '\n'));
      process.stdout.write(`${dir}\n`);
    },
  );
}
