// `dtrain cluster` with a node's worker ranks behind a relay, as real processes on this machine: the
// scheduler's view of two nodes (rank 0 alone on node 0, ranks 1-3 on node 1) is given as Slurm's
// variables; node 1's local rank 0 starts the relay, the other two join it, and rank 0 sees one connection.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readMetrics } from '@dtrain/coordinator';
import { CLI_PATH } from '../../src/processes/path.js';

function rank(
  procid: number,
  localid: number,
  nodeid: number,
  port: number,
  out: string,
): Promise<{ code: number | null; stderr: string }> {
  const env = {
    ...process.env,
    SLURM_PROCID: String(procid),
    SLURM_LOCALID: String(localid),
    SLURM_NODEID: String(nodeid),
    SLURM_NTASKS: '4',
    SLURM_STEP_ID: '0',
    SLURM_STEP_NODELIST: 'localhost',
    SLURM_STEP_TASKS_PER_NODE: '1,3',
    DTRAIN_TOKEN: 'cluster-relays-test',
  };
  const child = spawn(
    process.execPath,
    [
      CLI_PATH,
      'cluster',
      '--coordinator',
      '127.0.0.1',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--backend',
      'wasm',
      '--model',
      'tiny-cnn',
      '--train-size',
      '400',
      '--test-size',
      '64',
      '--batch-size',
      '48',
      '--max-steps',
      '6',
      '--give-up',
      '30',
      '--out',
      out,
    ],
    { env, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

test(
  "two nodes: node 1's three worker ranks train behind one relay that its local rank 0 started; rank 0 sees one connection of 3 workers",
  { timeout: 120_000 },
  async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dtrain-cluster-relays-')), 'run');
    const port = 21_000 + Math.floor(Math.random() * 2000) * 2;
    const [r0, r1, r2, r3] = await Promise.all([
      rank(0, 0, 0, port, out),
      rank(1, 0, 1, port, out),
      rank(2, 1, 1, port, out),
      rank(3, 2, 1, port, out),
    ]);
    assert.equal(r0.code, 0, r0.stderr.slice(-1500));
    assert.match(
      r0.stderr,
      /waits for 1 connection\(s\) \(0 worker\(s\) on this node \+ one relay or worker for each of 1 other node/,
    );
    assert.match(r1.stderr, /starts this node's relay at ws:\/\/127\.0\.0\.1:\d+ \(3 worker ranks here/);
    for (const r of [r2, r3]) assert.match(r.stderr, /joins this node's relay/);
    for (const r of [r1, r2, r3]) assert.equal(r.code, 0, r.stderr.slice(-1500));
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      status: string;
      workers: { backend: string; samples: number }[];
    };
    assert.equal(summary.status, 'completed');
    assert.deepEqual(
      summary.workers.map((w) => [w.backend, w.samples]),
      [['relay', 6 * 48]],
      'one connection, the relay, with every sample',
    );
    assert.ok(readMetrics(out).every((r) => r.type !== 'step' || r.workers === 1));
  },
);
