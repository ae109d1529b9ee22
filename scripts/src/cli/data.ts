// `dtrain data fetch cifar10|cifar100`: download and verify a dataset into the cache (or --dir); CIFAR-100
// also from an archive downloaded elsewhere (--archive).

import { TrainerError } from '@dtrain/common';
import type { Argv } from 'yargs';
import { defaultCifarDir, fetchCifar10 } from '../data/fetch.js';
import { fetchCifar100 } from '../data/fetch-cifar100.js';
import { ignoredTokenOptions } from '../options/options.js';

export function dataCommand(y: Argv): Argv {
  return y.command(
    'data fetch <dataset>',
    'download and verify a dataset into the cache (or --dir)',
    (d) =>
      ignoredTokenOptions(d)
        .positional('dataset', {
          choices: ['cifar10', 'cifar100'] as const,
          demandOption: true,
          describe: 'dataset to fetch',
        })
        .option('dir', { type: 'string', describe: `target directory (default: ${defaultCifarDir('<dataset>')})` })
        .option('archive', {
          type: 'string',
          describe:
            'cifar100: install from this copy of cifar-100-binary.tar.gz (its MD5 is checked) instead of downloading',
        }),
    async (a) => {
      const log = (l: string) => process.stderr.write(l + '\n');
      const dir = a.dir ?? defaultCifarDir(a.dataset);
      if (a.archive && a.dataset !== 'cifar100')
        throw new TrainerError('ERR_BAD_CONFIG', '--archive is for cifar100', {
          hint: 'dtrain data fetch cifar100 --archive FILE',
        });
      process.stdout.write(
        `${a.dataset === 'cifar100' ? await fetchCifar100(dir, log, a.archive) : await fetchCifar10(dir, log)}\n`,
      );
    },
  );
}
