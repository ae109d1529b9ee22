// `--resume` with other options: the checkpoint's config is the run's, and options given with --resume
// either extend or operate it (applied) or would change what the run means (refused, named). An option
// counts as given when it is on the command line, in the environment (DTRAIN_*) or in a --config file.

import { type TrainConfig, TrainerError } from '@dtrain/common';
import { type ConfigPath, valueAt } from './config-path.js';
import { type FlagRow, TRAIN_FLAGS } from './train-flags.js';

const rows = Object.entries(TRAIN_FLAGS) as [string, FlagRow][];
const firstPath = (row: FlagRow): ConfigPath => [row.path!].flat()[0]!;

/** Options that would make the resumed run a different experiment than the checkpoint's: flag -> config path. */
const MEANING = new Map(rows.filter(([, r]) => r.role === 'meaning').map(([f, r]) => [f, firstPath(r)]));

/** Options applied on resume (training longer, how the run is operated): flag -> config key. */
const APPLIED = new Map(
  rows.filter(([, r]) => r.role === 'applied' || r.role === 'operational').map(([f, r]) => [f, firstPath(r)]),
);

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
  const at = (c: TrainConfig, f: string): string => JSON.stringify(valueAt(c, MEANING.get(f)!));
  const changed = [...given].filter((f) => MEANING.has(f) && at(requested, f) !== at(saved, f));
  if (changed.length) {
    const list = changed.map((f) => `--${f} ${at(requested, f)} (the run has ${at(saved, f)})`).join(', ');
    const hint =
      'drop them to continue the run, or start a new run with them (a new --out); --epochs and --max-steps ' +
      'extend a run, --eval-every, --checkpoint-* and --step-timeout may change';
    const what = `--resume keeps the run's own settings; these would change what it means: ${list}`;
    throw new TrainerError('ERR_BAD_CONFIG', what, { hint });
  }
  const out: Record<string, unknown> = {};
  for (const f of given) {
    const key = APPLIED.get(f);
    if (key) out[key] = valueAt(requested, key);
  }
  return out as Partial<TrainConfig>;
}
