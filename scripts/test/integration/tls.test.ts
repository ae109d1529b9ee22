// wss://: a run over TLS with a test CA, a worker refused for trusting the wrong CA (and saying it is a
// certificate problem), and a coordinator that requires client certificates.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSoloRun } from '@dtrain/coordinator';
import { type ClientTls, WorkerClient } from '@dtrain/worker';
import { tempDir, testBackend, testConfig } from './harness.js';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

/** A CA, and a certificate it signs for `name` with subject alt name IP:127.0.0.1. */
function pki(dir: string, name: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}-ca.key`,
      '-out',
      `${name}-ca.pem`,
      '-days',
      '2',
      '-subj',
      `/CN=${name} test CA`,
    ],
    dir,
  );
  openssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    ],
    dir,
  );
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${name}-ca.pem`,
      '-CAkey',
      `${name}-ca.key`,
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    ],
    dir,
  );
  const read = (f: string) => readFileSync(join(dir, f));
  return { ca: read(`${name}-ca.pem`), cert: read(`${name}.pem`), key: read(`${name}.key`) };
}

const dir = tempDir('pki');
const server = pki(dir, 'coordinator');
const stranger = pki(dir, 'stranger');

async function runOverTls(workerTls: ClientTls, clientCa?: Buffer): Promise<{ status: string; logs: string[] }> {
  const run = await openSoloRun({
    config: testConfig({ maxSteps: 3, workers: 1, minWorkers: 1 }),
    host: '127.0.0.1',
    port: 0,
    token: 'tls-token',
    out: tempDir('tls'),
    waitTimeoutMs: 2_500,
    tls: { cert: server.cert, key: server.key, ...(clientCa ? { clientCa } : {}) },
    log: () => undefined,
  });
  const logs: string[] = [];
  const client = new WorkerClient({
    url: `wss://127.0.0.1:${run.port}`,
    token: 'tls-token',
    name: 'w',
    backend: await testBackend(),
    giveUpMs: 2_000,
    log: (l) => logs.push(l),
    tls: workerTls,
  });
  const [summary] = await Promise.all([run.run(), client.run()]);
  return { status: summary.status, logs };
}

test("a run over wss:// with the coordinator's CA completes", async () => {
  const r = await runOverTls({ ca: server.ca });
  assert.equal(r.status, 'completed', r.logs.join('\n'));
});

test('a worker that trusts another CA is refused and says it is the certificate', async () => {
  const r = await runOverTls({ ca: stranger.ca });
  assert.equal(r.status, 'failed');
  assert.ok(
    r.logs.some((l) => /^TLS: the coordinator's certificate was not accepted: .*; pass --tls-ca/.test(l)),
    r.logs.join('\n'),
  );
});

test('with --tls-client-ca, a worker needs a certificate that CA signed', async () => {
  const refused = await runOverTls({ ca: server.ca }, stranger.ca);
  assert.equal(refused.status, 'failed', 'no client certificate');
  const admitted = await runOverTls({ ca: server.ca, cert: stranger.cert, key: stranger.key }, stranger.ca);
  assert.equal(admitted.status, 'completed', admitted.logs.join('\n'));
});
