// `dtrain export`, `dtrain evaluate`, `dtrain predict`: what a trained run is for, from its run directory
// (newest checkpoint) or one checkpoint directory.

import { TrainerError } from '@dtrain/common';
import type { Argv } from 'yargs';
import { prepareCifar } from '../data/fetch.js';
import { readImages } from '../model/images.js';
import {
  evaluateTrained,
  exportTfjs,
  openTrained,
  predictTrained,
  trainedDataset,
  trainedInputs,
} from '../model/trained.js';
import { backendOption, ignoredTokenOptions } from '../options/options.js';

const source = <T>(y: Argv<T>) =>
  ignoredTokenOptions(y)
    .positional('run', {
      type: 'string',
      demandOption: true,
      describe: 'a run directory (its newest checkpoint) or a checkpoint directory',
    })
    .option('data-dir', { type: 'string', describe: 'cifar10: directory with the binary files (default: the cache)' });

function exportOptions<T>(y: Argv<T>) {
  return source(y)
    .option('format', {
      type: 'string',
      default: 'tfjs' as const,
      choices: ['tfjs'] as const,
      describe: 'tfjs: model.json + weights.bin for tf.loadLayersModel (Keras: convert with tensorflowjs_converter)',
    })
    .option('out', { type: 'string', describe: 'output directory (default: RUN/export-tfjs)' })
    .example('$0 export runs/demo', 'runs/demo/export-tfjs/model.json, weights.bin, preprocessing.json')
    .example(
      'tensorflowjs_converter --input_format=tfjs_layers_model --output_format=keras runs/demo/export-tfjs/model.json model.h5',
      'then, for Keras (pip install tensorflowjs)',
    );
}

function evaluateOptions<T>(y: Argv<T>) {
  return backendOption(source(y), 'this process')
    .option('split', {
      type: 'string',
      default: 'test' as const,
      choices: ['test', 'val', 'train'] as const,
      describe: "which part of the run's dataset",
    })
    .example('$0 evaluate runs/demo --split val', 'validation loss and accuracy of the newest checkpoint')
    .example('$0 evaluate runs/demo/checkpoints/step-00000250', 'an earlier checkpoint');
}

function predictOptions<T>(y: Argv<T>) {
  return backendOption(source(y), 'this process')
    .positional('images', {
      type: 'string',
      array: true,
      demandOption: true,
      describe: '32x32 PNG or JPEG files, or CIFAR-10 .bin files',
    })
    .option('top', { type: 'number', default: 3, describe: 'classes to show per image' })
    .example('$0 predict runs/demo cat.png ship.jpg', 'the 3 likeliest classes of each image');
}

export function exportCommand(y: Argv): Argv {
  return y.command(
    'export <run>',
    'write a trained model for TensorFlow.js (tf.loadLayersModel) and, via its converter, Keras',
    exportOptions,
    async (a) => {
      const t = openTrained(a.run);
      const inputs = await trainedInputs(t, async () =>
        trainedDataset(t, await prepareCifar(t.config.dataset.name, a.dataDir)),
      );
      const files = await exportTfjs(t, inputs, a.out ?? `${a.run.replace(/\/$/, '')}/export-tfjs`);
      process.stderr.write(
        `exported step ${t.step} of ${t.spec.name} from ${t.source}:\n${files.map((f) => `  ${f}`).join('\n')}\n`,
      );
    },
  );
}

export function evaluateCommand(y: Argv): Argv {
  return y.command(
    'evaluate <run>',
    'loss and accuracy of a trained model on a split of its dataset',
    evaluateOptions,
    async (a) => {
      const t = openTrained(a.run);
      const e = await evaluateTrained(
        t,
        trainedDataset(t, await prepareCifar(t.config.dataset.name, a.dataDir)),
        a.split,
        a.backend,
      );
      process.stdout.write(
        `${e.split}: accuracy ${(e.accuracy * 100).toFixed(2)}%, loss ${e.loss.toFixed(4)} (${e.samples} images; step ${t.step} of ${t.source})\n`,
      );
    },
  );
}

export function predictCommand(y: Argv): Argv {
  return y.command(
    'predict <run> <images..>',
    'the likeliest classes of images under a trained model',
    predictOptions,
    async (a) => {
      if (!Number.isInteger(a.top) || a.top < 1 || a.top > 10)
        throw new TrainerError('ERR_BAD_CONFIG', `--top ${a.top} must be 1..10`, { hint: 'e.g. --top 3' });
      const t = openTrained(a.run);
      const images = readImages(a.images.map(String));
      const inputs = await trainedInputs(t, async () =>
        trainedDataset(t, await prepareCifar(t.config.dataset.name, a.dataDir)),
      );
      const preds = await predictTrained(t, inputs, images, a.backend, a.top);
      let right = 0;
      for (const p of preds) {
        if (p.label !== null && p.top[0]!.cls === p.label) right++;
        const truth = p.label === null ? '' : `  (labelled ${p.label})`;
        process.stdout.write(
          `${p.name}: ${p.top.map((c) => `${c.name} ${(c.p * 100).toFixed(1)}%`).join(', ')}${truth}\n`,
        );
      }
      const labelled = preds.filter((p) => p.label !== null).length;
      if (labelled)
        process.stdout.write(
          `top-1 accuracy on the labelled images: ${((right / labelled) * 100).toFixed(2)}% of ${labelled}\n`,
        );
    },
  );
}
