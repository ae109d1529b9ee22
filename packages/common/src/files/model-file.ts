// `--model path/model.json`: a TensorFlow.js LayersModel file read into dtrain's layer spec (keras-layers.ts).
// Only the topology is read; the weights files beside it are not (a run starts from its seeded init).

import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { TrainerError } from '../errors.js';
import { specFromLayersJson } from '../keras-layers.js';
import type { ModelSpec } from '../model.js';

/** Largest model.json read (a topology; the weights live in other files). */
export const MAX_MODEL_FILE_BYTES = 16 * 1024 * 1024;

/** Whether a --model value names a file rather than a zoo model. */
export function isModelFile(model: string): boolean {
  return model.endsWith('.json') || model.includes('/');
}

function fail(message: string, hint: string): never {
  throw new TrainerError('ERR_BAD_CONFIG', message, { hint });
}

/** The layer spec of the model file at `path` (ERR_BAD_CONFIG naming the file and what is wrong). */
export function readModelFile(path: string): ModelSpec {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return fail(`--model ${path}: no such file`, 'give a zoo name (see --help) or the path of a model.json');
  }
  if (size > MAX_MODEL_FILE_BYTES)
    fail(`--model ${path}: ${size} bytes, more than ${MAX_MODEL_FILE_BYTES}`, 'a model.json holds the topology only');
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return fail(
      `--model ${path}: not JSON (${(e as Error).message})`,
      'give the model.json that tensorflowjs_converter or dtrain export wrote',
    );
  }
  try {
    return specFromLayersJson(json, basename(path, '.json'));
  } catch (e) {
    if (e instanceof TrainerError)
      throw new TrainerError(e.code, `--model ${path}: ${e.message}`, e.hint === undefined ? {} : { hint: e.hint });
    throw e;
  }
}
