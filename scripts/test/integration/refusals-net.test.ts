// Refusals over the network that are a configuration error, said once: a worker whose token is not the
// coordinator's, or that holds none for a coordinator that needs one, exits 2 with one line that says so
// (not a retry loop of "frame failed session authentication"); a coordinator open beyond loopback with
// no token warns at start.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { CoordinatorServer } from '@dtrain/coordinator';
import { CLI_PATH as CLI } from '../../src/processes/path.js';
import { startRun, testConfig } from './harness.js';

/** A real `dtrain worker` process (asynchronously: the coordinator runs in this process). */
function dtrainWorker(url: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'worker', '--connect', url, '--backend', 'wasm'], {
    env: { ...process.env, DTRAIN_TOKEN: '', ...env },
    timeout: 30_000,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((r) => child.once('close', (status) => r({ status, stderr })));
}

test('a worker with the wrong token says so once and exits 2; one with no token for a coordinator that needs one too', async () => {
  const run = await startRun(testConfig(), { token: 'the-right-one', waitTimeoutMs: 60_000 });
  const summary = run.run();
  const t0 = Date.now();
  const wrong = await dtrainWorker(run.url, { DTRAIN_TOKEN: 'a-wrong-one' });
  assert.equal(wrong.status, 2, wrong.stderr);
  assert.ok(Date.now() - t0 < 15_000, 'it did not retry for long');
  assert.equal(wrong.stderr.match(/refused our token \(ERR_AUTH_FAILED\)/g)?.length, 1, wrong.stderr);
  assert.doesNotMatch(wrong.stderr, /session authentication|no coordinator/);
  const none = await dtrainWorker(run.url, {});
  assert.equal(none.status, 2, none.stderr);
  assert.match(none.stderr, /requires a token: pass --token or set DTRAIN_TOKEN/);
  run.coord.stop('test over');
  await summary;
});

test('a coordinator listening beyond loopback without a token warns at start; with a token, or on loopback, it does not', async () => {
  const warned = async (host: string, token: string | undefined): Promise<boolean> => {
    const lines: string[] = [];
    const server = new CoordinatorServer({ host, port: 0, token, maxParams: 4, log: (l) => lines.push(l) });
    await server.listen();
    await server.close();
    return lines.some((l) =>
      /^warning: listening on .* without a token: anyone who can reach port \d+ can join/.test(l),
    );
  };
  assert.equal(await warned('0.0.0.0', undefined), true);
  assert.equal(await warned('0.0.0.0', 'secret'), false);
  assert.equal(await warned('127.0.0.1', undefined), false);
  assert.equal(await warned('::1', undefined), false);
});
