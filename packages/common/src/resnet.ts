// The residual networks of the zoo. CIFAR ResNets (He et al. 2016, section 4.2): a 3x3 convolution of 16
// channels, then 3 stages of n basic blocks of 16, 32 and 64 channels (the first block of stages 2 and 3
// halves the size with stride 2), batch norm after every convolution, global average pooling and a
// 10-way dense layer; 6n + 2 weighted layers, shortcut option A (identity, subsampled and zero-padded where
// the shape changes: no parameters), as the paper's CIFAR counts are. ResNet-18 is the CIFAR variant of
// the ImageNet network (a 3x3 stem, no max-pool; stages of 64/128/256/512 channels, 2 blocks each; option B
// projections), about 11M parameters, for the scale benches.

import type { LayerSpec, ModelSpec } from './model.js';

function cifarResnet(n: number): ModelSpec {
  const blocks: LayerSpec[] = [];
  for (const [stage, filters] of [16, 32, 64].entries()) {
    for (let b = 0; b < n; b++) {
      blocks.push({ type: 'resblock', filters, stride: stage > 0 && b === 0 ? 2 : 1, shortcut: 'pad' });
    }
  }
  return {
    name: `resnet${6 * n + 2}`,
    inputShape: [32, 32, 3],
    classes: 10,
    layers: [
      { type: 'convbn', filters: 16, kernel: 3, stride: 1, relu: true },
      ...blocks,
      { type: 'gap' },
      { type: 'dense', units: 10, activation: 'linear' },
    ],
  };
}

function resnet18(): ModelSpec {
  const blocks: LayerSpec[] = [];
  for (const [stage, filters] of [64, 128, 256, 512].entries()) {
    for (let b = 0; b < 2; b++) {
      blocks.push({ type: 'resblock', filters, stride: stage > 0 && b === 0 ? 2 : 1, shortcut: 'project' });
    }
  }
  return {
    name: 'resnet18',
    inputShape: [32, 32, 3],
    classes: 10,
    layers: [
      { type: 'convbn', filters: 64, kernel: 3, stride: 1, relu: true },
      ...blocks,
      { type: 'gap' },
      { type: 'dense', units: 10, activation: 'linear' },
    ],
  };
}

export const RESNETS: Record<string, ModelSpec> = {
  resnet8: cifarResnet(1),
  resnet20: cifarResnet(3),
  resnet56: cifarResnet(9),
  resnet18: resnet18(),
};
