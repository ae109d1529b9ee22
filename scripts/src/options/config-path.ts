// Dotted paths into a TrainConfig (the flag table's `path`), and reading and writing a value at one.

import type { DatasetSpec, OptimizerConfig, TrainConfig } from '@dtrain/common';

type KeysOfUnion<T> = T extends unknown ? keyof T : never;

export type ConfigPath =
  | Exclude<keyof TrainConfig, 'dataset' | 'optimizer'>
  | `dataset.${KeysOfUnion<DatasetSpec> & string}`
  | `optimizer.${keyof OptimizerConfig & string}`;

/** The value at `path` (undefined where the config has none, e.g. limitTrain of a synthetic dataset). */
export function valueAt(config: TrainConfig, path: ConfigPath): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], config);
}

/** Set `path` in a config under construction, creating its section. */
export function setAt(config: Record<string, unknown>, path: ConfigPath, value: unknown): void {
  const [head, tail] = path.split('.') as [string, string | undefined];
  if (tail === undefined) config[head] = value;
  else ((config[head] ??= {}) as Record<string, unknown>)[tail] = value;
}
