import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { CLI_PATH } from '../../src/processes/path.js';

test(
  'bench exchange prints the coordinator time per step, its CPU and its garbage collection over the warm steps',
  { timeout: 120_000 },
  () => {
    const out = execFileSync(
      process.execPath,
      [CLI_PATH, 'bench', 'exchange', '--model', 'tiny-cnn', '--workers', '1', '--steps', '40'],
      { encoding: 'utf8' },
    );
    const r = JSON.parse(out.trim().split('\n').at(-1) ?? '') as Record<string, number>;
    assert.equal(r['steps'], 40);
    assert.equal(r['params'], 18234);
    for (const k of ['coordMsMedian', 'stepMs', 'cpuMsPerStep'] as const) assert.ok((r[k] ?? 0) > 0, `${k} ${r[k]}`);
    const gcMs = r['gcMsPerStep'] ?? -1;
    const share = r['gcShareOfCpu'] ?? -1;
    const major = r['gcMajorShareOfCpu'] ?? -1;
    assert.ok(gcMs >= 0 && gcMs <= (r['cpuMsPerStep'] ?? 0) * 1.01, `gc ${gcMs} ms of ${r['cpuMsPerStep']} ms`);
    assert.ok(share >= 0 && share <= 1.01 && major >= 0 && major <= share, `shares ${share} ${major}`);
  },
);
