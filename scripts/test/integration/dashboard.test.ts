// The live dashboard in headless Chromium during a real run (a worker in this process, one in a child
// process): the page's step counter advances as steps arrive, and the child's death shows as "lost" with
// its reason. Without the run's token the page and its events are refused; the server takes no writes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { Dashboard, openSoloRun } from '@dtrain/coordinator';
import { CLI_PATH } from '../../src/processes/path.js';
import { quiet, tempDir, testConfig, worker } from './harness.js';
import { HeadlessPage } from './headless.js';

test('dashboard: the step counter advances in a browser and a killed worker shows as lost', async () => {
  const token = 'dashboard-test-token';
  const config = testConfig({ maxSteps: 100_000, workers: 2, minWorkers: 1, evalEvery: 50 });
  const solo = await openSoloRun({
    config,
    host: '127.0.0.1',
    port: 0,
    token,
    out: tempDir('dash'),
    waitTimeoutMs: 30_000,
    log: quiet,
  });
  const dashboard = await Dashboard.open({ host: '127.0.0.1', port: 0, token, log: quiet });
  dashboard.attach(solo.coord, solo.pool);
  const finished = solo.run();
  const url = `ws://127.0.0.1:${solo.port}`;
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'worker', '--connect', url, '--token', token, '--backend', 'wasm', '--quiet', '--name', 'child'],
    {
      stdio: 'ignore',
    },
  );
  const local = await worker(url, 'local', token);
  const page = await HeadlessPage.open(dashboard.url);
  try {
    const step = () => page.evaluate<string>("document.getElementById('step').textContent");
    const first = Number(await page.until<string>("document.getElementById('step').textContent", (v) => Number(v) > 0));
    assert.ok(first > 0, 'the page shows a step');
    const later = Number(
      await page.until<string>("document.getElementById('step').textContent", (v) => Number(v) > first + 5),
    );
    assert.ok(later > first + 5, `the counter advances: ${first} -> ${later}`);
    const rows = "[...document.querySelectorAll('#workers tr')].map((r) => [...r.children].map((c) => c.textContent))";
    const ready = await page.until<string[][]>(rows, (r) => r.length === 2 && r.every((c) => c[3] === 'ready'));
    assert.equal(ready.length, 2, JSON.stringify(ready));
    child.kill('SIGKILL');
    const after = await page.until<string[][]>(rows, (r) =>
      r.some((c) => c[0]!.startsWith('child') && c[3] === 'lost'),
    );
    const lost = after.find((c) => c[0]!.startsWith('child'))!;
    assert.equal(lost[3], 'lost', JSON.stringify(after));
    assert.ok(lost[4]!.length > 0, 'and why');
    assert.ok(Number(await step()) > later, 'the run goes on without it');
    const plain = dashboard.url.replace(/\?.*$/, '');
    assert.equal((await fetch(plain)).status, 401);
    assert.equal((await fetch(`${plain}events`)).status, 401);
    assert.equal((await fetch(dashboard.url, { method: 'POST' })).status, 405);
  } finally {
    await page.close();
    solo.coord.stop('test over');
    await finished;
    await local.done;
    await dashboard.close();
  }
});
