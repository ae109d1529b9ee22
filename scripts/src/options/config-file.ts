// A --config file: YAML (.yaml, .yml) or JSON, a mapping of long option names to values. Read here for
// yargs (main.ts) and for the resume rules (which options were given: run-request.ts), the same way.

import { readFileSync } from 'node:fs';
import { TrainerError } from '@dtrain/common';
import { parse as parseYaml } from 'yaml';

const CONFIG_HINT =
  'give a YAML file of options ("batch-size: 128" lines) or a JSON object such as {"batch-size": 128, "epochs": 10}';

/** A --config file: YAML (.yaml, .yml) or JSON, an object of long option names. */
export function readConfigFile(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    const text = readFileSync(path, 'utf8');
    value = /\.ya?ml$/i.test(path) ? parseYaml(text, { maxAliasCount: 100 }) : JSON.parse(text);
  } catch (e) {
    throw new TrainerError('ERR_BAD_CONFIG', `--config ${path}: ${(e as Error).message.split('\n')[0]}`, {
      hint: CONFIG_HINT,
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TrainerError('ERR_BAD_CONFIG', `--config ${path} is not a mapping of options`, { hint: CONFIG_HINT });
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, optionValue(path, k, v)]));
}

/** A file's value as the flag would carry it: a list (`batch-sizes: [32, 64]`) is the comma-separated "32,64". */
function optionValue(path: string, key: string, v: unknown): unknown {
  if (Array.isArray(v) && v.every((x) => ['string', 'number', 'boolean'].includes(typeof x))) return v.join(',');
  if (typeof v === 'object' && v !== null) {
    throw new TrainerError('ERR_BAD_CONFIG', `--config ${path}: "${key}" is not a value or a list of values`, {
      hint: CONFIG_HINT,
    });
  }
  return v;
}
