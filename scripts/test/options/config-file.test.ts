// --config files: YAML or JSON mappings of long option names; lists become the comma-separated value the flag takes.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readConfigFile } from '../../src/options/config-file.js';

const dir = mkdtempSync(join(tmpdir(), 'dtrain-config-file-'));
const file = (name: string, text: string): string => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

test('a YAML list is the comma-separated value a list flag takes (it crashed sweep with s.split)', () => {
  const path = file(
    'sweep.yaml',
    'batch-sizes: [32, 64]\noptimizers:\n  - sgd\n  - adamw\nlrs: [0.01, 0.1]\nepochs: 2\n',
  );
  assert.deepEqual(readConfigFile(path), {
    'batch-sizes': '32,64',
    optimizers: 'sgd,adamw',
    lrs: '0.01,0.1',
    epochs: 2,
  });
});

test('JSON lists too; a nested mapping is refused naming its key', () => {
  assert.deepEqual(readConfigFile(file('a.json', '{"momenta": [0.9, 0.99]}')), { momenta: '0.9,0.99' });
  assert.throws(
    () => readConfigFile(file('b.yaml', 'optimizer:\n  kind: adam\n')),
    /"optimizer" is not a value or a list/,
  );
  assert.throws(() => readConfigFile(file('c.yaml', 'lrs: [[0.1]]\n')), /"lrs" is not a value or a list/);
});
