// `--resume` with other options: the checkpoint's config is the run's, and options given with --resume
// either extend or operate it (applied) or would change what the run means (refused, named). An option
// counts as given when it is on the command line, in the environment (DTRAIN_*) or in a --config file.

import { OPERATIONAL_KEYS, type TrainConfig, TrainerError } from '@dtrain/common';

type Get = (c: TrainConfig) => unknown;
const data =
  (k: string): Get =>
  (c) =>
    (c.dataset as unknown as Record<string, unknown>)[k];
const opt =
  (k: keyof TrainConfig['optimizer']): Get =>
  (c) =>
    c.optimizer[k];

/** Options that would make the resumed run a different experiment than the checkpoint's. */
const MEANING: Record<string, Get> = {
  model: (c) => c.model,
  dataset: (c) => c.dataset.name,
  'limit-train': data('limitTrain'),
  'limit-test': data('limitTest'),
  normalize: data('normalize'),
  augment: data('augment'),
  'train-size': data('trainSize'),
  'test-size': data('testSize'),
  'val-fraction': data('valFraction'),
  seed: (c) => c.seed,
  'batch-size': (c) => c.batchSize,
  lr: (c) => c.lr,
  momentum: opt('momentum'),
  'momentum-form': opt('form'),
  dampening: opt('dampening'),
  nesterov: opt('nesterov'),
  'weight-decay': opt('weightDecay'),
  'lr-schedule': (c) => c.schedule,
  'lr-decay-steps': (c) => c.decaySteps,
  'lr-gamma': (c) => c.gamma,
  'lr-min': (c) => c.minLr,
  'warmup-steps': (c) => c.warmupSteps,
  'lr-scaling': (c) => c.scaling,
  'base-batch-size': (c) => c.baseBatchSize,
};

/** The flag of each operational config key (common's OPERATIONAL_KEYS: the compiler asks for every one). */
const OPERATIONAL_FLAGS: Record<(typeof OPERATIONAL_KEYS)[number], string> = {
  evalChunk: 'eval-chunk',
  checkpointEvery: 'checkpoint-every',
  checkpointSeconds: 'checkpoint-seconds',
  keepCheckpoints: 'keep-checkpoints',
  stepTimeoutMs: 'step-timeout',
  patienceEpochs: 'patience',
};

/** Options applied on resume: training longer, and how the run is operated. */
const APPLIED: Record<string, (keyof TrainConfig)[]> = {
  epochs: ['epochs'],
  'max-steps': ['maxSteps'],
  'eval-every': ['evalEvery'],
  balance: ['balance'],
  ...Object.fromEntries(OPERATIONAL_KEYS.map((k) => [OPERATIONAL_FLAGS[k], [k]])),
};

export const kebab = (camel: string): string => camel.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Long options given on the command line, as DTRAIN_* variables, or as keys of a --config file. */
export function givenOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  configKeys: readonly string[] = [],
): Set<string> {
  const given = new Set<string>();
  for (const a of argv) {
    const m = /^--(?:no-)?([a-z][a-z0-9-]*)(?:=|$)/.exec(a);
    if (m) given.add(m[1]!);
  }
  for (const k of Object.keys(env))
    if (k.startsWith('DTRAIN_') && env[k] !== undefined) given.add(k.slice(7).toLowerCase().replace(/_/g, '-'));
  for (const k of configKeys) given.add(k.includes('-') ? k : kebab(k));
  return given;
}

/** The overrides to apply to the checkpoint's config; throws naming every given option that would change its meaning. */
export function resumeOverrides(
  given: ReadonlySet<string>,
  requested: TrainConfig,
  saved: TrainConfig,
): Partial<TrainConfig> {
  const changed = [...given].filter(
    (f) => f in MEANING && JSON.stringify(MEANING[f]!(requested)) !== JSON.stringify(MEANING[f]!(saved)),
  );
  if (changed.length) {
    const list = changed
      .map(
        (f) => `--${f} ${JSON.stringify(MEANING[f]!(requested))} (the run has ${JSON.stringify(MEANING[f]!(saved))})`,
      )
      .join(', ');
    throw new TrainerError(
      'ERR_BAD_CONFIG',
      `--resume keeps the run's own settings; these would change what it means: ${list}`,
      {
        hint: 'drop them to continue the run, or start a new run with them (a new --out); --epochs and --max-steps extend a run, --eval-every, --checkpoint-* and --step-timeout may change',
      },
    );
  }
  const out: Record<string, unknown> = {};
  for (const f of given) for (const k of APPLIED[f] ?? []) out[k] = requested[k];
  return out as Partial<TrainConfig>;
}
