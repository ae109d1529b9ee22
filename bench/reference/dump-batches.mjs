// The inputs of a run's first K steps as its workers saw them (after augmentation and normalization), for
// bench/reference/resnet_bn.py: RUN/reference-batches/step-N.x.f32 ([B, 32, 32, 3] float32) and step-N.y.i32.
// They come from dtrain's own data pipeline (the (seed, epoch) order, crops and flips by (seed, epoch,
// sample)): the recomputation checks the model, batch norm and the optimizer, not the data.
// Usage (after npm run build): node bench/reference/dump-batches.mjs RUN K [CIFAR_DIR]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EpochCursor, stepsPerEpoch, trainSplitSize } from '../../packages/common/dist/src/index.js';
import { buildDataset } from '../../packages/common/dist/src/files/index.js';

const [run, k, cifarDir = join(homedir(), '.cache', 'dtrain', 'cifar10')] = process.argv.slice(2);
const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
const ds = buildDataset(config.dataset, { cifarDir });
const trainSize = trainSplitSize(config.dataset);
const at = { step: 0, epoch: 0, position: 0, samplesSeen: 0 };
const cursor = new EpochCursor(at, {
  trainSize,
  seed: config.seed,
  batchSize: config.batchSize,
  stepsPerEpoch: stepsPerEpoch(trainSize, config.batchSize),
});
const out = join(run, 'reference-batches');
mkdirSync(out, { recursive: true });
for (let step = 1; step <= Number(k); step++) {
  const epoch = at.epoch;
  const indices = cursor.nextBatch();
  const x = new Float32Array(indices.length * 32 * 32 * 3);
  const y = new Int32Array(indices.length);
  ds.fillBatch('train', indices, x, y, { seed: config.dataset.seed, epoch });
  writeFileSync(join(out, `step-${step}.x.f32`), x);
  writeFileSync(join(out, `step-${step}.y.i32`), y);
  cursor.advance(indices.length);
}
console.log(`wrote ${k} batches of ${config.batchSize} to ${out}`);
