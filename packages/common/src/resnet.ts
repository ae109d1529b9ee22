// The residual networks of the zoo. CIFAR ResNets (He et al. 2016, section 4.2): a 3x3 convolution of 16
// channels, then 3 stages of n basic blocks of 16, 32 and 64 channels (the first block of stages 2 and 3
// halves the size with stride 2), batch norm after every convolution, global average pooling and a
// 10-way dense layer; 6n + 2 weighted layers, shortcut option A (identity, subsampled and zero-padded where
// the shape changes: no parameters), as the paper's CIFAR counts are. ResNet-18 is the CIFAR variant of
// the ImageNet network (a 3x3 stem, no max-pool; stages of 64/128/256/512 channels, 2 blocks each; option B
// projections), about 11M parameters, for the scale benches.

import type { LayerSpec, ModelSpec } from './model.js';

/** A 3x3 stem of widths[0] channels, stages of `blocks` basic blocks (stride 2 from the second), pooling, 10-way dense. */
function residualNet(name: string, widths: readonly number[], blocks: number, shortcut: 'pad' | 'project'): ModelSpec {
  const body: LayerSpec[] = widths.flatMap((filters, stage) =>
    Array.from({ length: blocks }, (_, b) => ({
      type: 'resblock' as const,
      filters,
      stride: stage > 0 && b === 0 ? 2 : 1,
      shortcut,
    })),
  );
  return {
    name,
    inputShape: [32, 32, 3],
    classes: 10,
    layers: [
      { type: 'convbn', filters: widths[0]!, kernel: 3, stride: 1, relu: true },
      ...body,
      { type: 'gap' },
      { type: 'dense', units: 10, activation: 'linear' },
    ],
  };
}

const cifarResnet = (n: number) => residualNet(`resnet${6 * n + 2}`, [16, 32, 64], n, 'pad');

export const RESNETS: Record<string, ModelSpec> = {
  resnet8: cifarResnet(1),
  resnet20: cifarResnet(3),
  resnet56: cifarResnet(9),
  resnet18: residualNet('resnet18', [64, 128, 256, 512], 2, 'project'),
};
