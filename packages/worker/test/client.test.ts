import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildManifest,
  type CoordinatorMsg,
  type DatasetSpec,
  decode,
  encode,
  encodeUnchecked,
  type GradientMsg,
  getModelSpec,
  initWeights,
  modelFingerprint,
  PROTOCOL_VERSION,
  paramCount,
  parseWorkerMsg,
  type WorkerMsg,
} from '@dtrain/common';
import { selectBackend, WorkerClient, WorkerTrainer } from '@dtrain/worker';
import { type WebSocket, WebSocketServer } from 'ws';

/** A scripted coordinator: handshake, then `script(ws)` once the worker says ready. */
async function fakeCoordinator(
  script: (ws: WebSocket, next: () => Promise<WorkerMsg>) => Promise<void>,
): Promise<{ url: string; done: Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const { port } = wss.address() as { port: number };
  const done = new Promise<void>((resolve, reject) => {
    wss.once('connection', (ws) => {
      const inbox: WorkerMsg[] = [];
      const waiters: ((m: WorkerMsg) => void)[] = [];
      const ctx = { paramCount: paramCount(buildManifest(getModelSpec('tiny-cnn'))), trainSize: 64, evalSize: 8 };
      ws.on('message', (d: Buffer) => {
        const m = parseWorkerMsg(decode(d, 1 << 24), ctx);
        const w = waiters.shift();
        if (w) w(m);
        else inbox.push(m);
      });
      const next = (): Promise<WorkerMsg> => new Promise((r) => (inbox.length ? r(inbox.shift()!) : waiters.push(r)));
      const send = (m: CoordinatorMsg): void => ws.send(encode(m));
      void (async () => {
        send({ kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: 'n', auth: false });
        assert.equal((await next()).kind, 'hello');
        const spec = getModelSpec('tiny-cnn');
        send({
          kind: 'welcome',
          workerId: 1,
          runId: 'r',
          model: 'tiny-cnn',
          modelFingerprint: modelFingerprint(spec),
          manifest: buildManifest(spec),
          dataset: DATASET,
          datasetFingerprint: 'x',
          maxShard: 256,
        });
        assert.equal((await next()).kind, 'ready');
        await script(ws, next);
        send({ kind: 'shutdown', reason: 'done' });
      })().then(resolve, reject);
    });
  }).finally(() => wss.close());
  return { url: `ws://127.0.0.1:${port}`, done };
}

function gradient(m: WorkerMsg): GradientMsg {
  assert.equal(m.kind, 'gradient');
  return m as GradientMsg;
}

const DATASET: DatasetSpec = {
  name: 'synthetic',
  trainSize: 64,
  testSize: 8,
  seed: 1,
  valFraction: 0,
  normalize: false,
  augment: false,
};

test('an assignment that arrives before its weights waits for them; one for the held version runs at once', async () => {
  const manifest = buildManifest(getModelSpec('tiny-cnn'));
  const w0 = initWeights(manifest, 1);
  const w1 = w0.map((v) => v * 0.5);
  const indices = Uint32Array.from([0, 1, 2, 3]);
  const grads: GradientMsg[] = [];
  const coord = await fakeCoordinator(async (ws, next) => {
    ws.send(encode({ kind: 'weights', version: 0, data: w0 }));
    ws.send(encode({ kind: 'assign', step: 1, version: 0, epoch: 0, shardId: 0, indices }));
    grads.push(gradient(await next()));
    ws.send(encode({ kind: 'assign', step: 2, version: 1, epoch: 0, shardId: 0, indices }));
    ws.send(encode({ kind: 'weights', version: 1, data: w1 }));
    grads.push(gradient(await next()));
  });
  const client = new WorkerClient({
    url: coord.url,
    token: undefined,
    name: 't',
    backend: await selectBackend('wasm'),
    giveUpMs: 5000,
    log: () => undefined,
  });
  const result = await client.run();
  await coord.done;
  assert.equal(result.ok, true, result.reason);
  assert.deepEqual(
    grads.map((g) => [g.kind, g.step, g.version]),
    [
      ['gradient', 1, 0],
      ['gradient', 2, 1],
    ],
  );
  // The second gradient is that of the weights sent after its assignment.
  const ref = new WorkerTrainer({
    kind: 'welcome',
    workerId: 1,
    runId: 'r',
    model: 'tiny-cnn',
    modelFingerprint: '',
    manifest,
    dataset: DATASET,
    datasetFingerprint: '',
    maxShard: 256,
  });
  ref.setWeights(1, w1);
  const expected = ref.computeGradient(
    { kind: 'assign', step: 2, version: 1, epoch: 0, shardId: 0, indices },
    new Float32Array(ref.net.paramCount),
  );
  assert.deepEqual([...grads[1]!.grad], [...expected.grad]);
  ref.dispose();
});

test('a hostile coordinator frame (error text past 123 bytes) closes the connection; the worker lives and retries', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const { port } = wss.address() as { port: number };
  const closes: { code: number; reason: string }[] = [];
  wss.on('connection', (ws) => {
    ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
    ws.send(encodeUnchecked({ kind: '€'.repeat(40) }));
  });
  const logs: string[] = [];
  const client = new WorkerClient({
    url: `ws://127.0.0.1:${port}`,
    token: undefined,
    name: 't',
    backend: await selectBackend('wasm'),
    giveUpMs: 0,
    log: (l) => logs.push(l),
  });
  const running = client.run();
  while (closes.length < 2) await new Promise((r) => setTimeout(r, 20)); // it reconnected after the first
  client.stop('test over');
  assert.equal((await running).ok, true);
  assert.deepEqual(closes[0], { code: 1008, reason: 'ERR_UNKNOWN_KIND' });
  assert.ok(
    logs.some((l) => l.startsWith('error: ERR_UNKNOWN_KIND')),
    logs.join('\n'),
  );
  await new Promise((r) => wss.close(r));
});

test('a worker locked out for lack of room says so and why, and keeps trying', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.send(
      encode({
        kind: 'reject',
        code: 'ERR_TOO_MANY_CONNECTIONS',
        message: '8 connections from 127.0.0.1 have not finished their handshake',
      }),
    );
    ws.close(1013, 'ERR_TOO_MANY_CONNECTIONS');
  });
  const logs: string[] = [];
  const client = new WorkerClient({
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    token: undefined,
    name: 't',
    backend: await selectBackend('wasm'),
    giveUpMs: 0,
    log: (l) => logs.push(l),
  });
  const running = client.run();
  while (connections < 2) await new Promise((r) => setTimeout(r, 20));
  client.stop('test over');
  assert.equal((await running).ok, true);
  assert.ok(
    logs.some((l) => /locked out for now: ERR_TOO_MANY_CONNECTIONS: 8 connections/.test(l)),
    logs.join('\n'),
  );
  assert.ok(
    logs.some((l) => /the coordinator refused the connection \(1013 ERR_TOO_MANY_CONNECTIONS\); retrying/.test(l)),
    logs.join('\n'),
  );
  await new Promise((r) => wss.close(r));
});

test('a worker with no coordinator says what it waits for, and again every so often', async () => {
  const logs: string[] = [];
  const client = new WorkerClient({
    url: 'ws://127.0.0.1:9',
    token: undefined,
    name: 't',
    backend: await selectBackend('wasm'),
    giveUpMs: 0,
    stillWaitingEveryMs: 400,
    log: (l) => logs.push(l),
  });
  const running = client.run();
  await new Promise((r) => setTimeout(r, 1_500));
  client.stop('test over');
  await running;
  assert.match(logs[0] ?? '', /^no coordinator at ws:\/\/127\.0\.0\.1:9 \(.*ECONNREFUSED.*\); retrying/);
  assert.ok(
    logs.some((l) => /^still waiting \(\d+ s\): no coordinator at ws:\/\/127\.0\.0\.1:9/.test(l)),
    logs.join('\n'),
  );
});

test('a coordinator that falls silent (a cut link) is dropped after the silence limit and dialled again', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let connections = 0;
  wss.on('connection', () => void connections++); // accepts, then says nothing: no challenge, no pings
  const warned: string[] = [];
  const client = new WorkerClient({
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    token: undefined,
    name: 'w',
    backend: await selectBackend('cpu'),
    giveUpMs: 10_000,
    log: () => undefined,
    warn: (l) => warned.push(l),
    silenceMs: 300,
  });
  const done = client.run();
  const t0 = Date.now();
  while (connections < 2 && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 50));
  client.stop('test over');
  await done;
  wss.close();
  assert.ok(connections >= 2, `${connections} connection(s)`);
  assert.ok(
    warned.some((l) => /no word from the coordinator for \d+ s; reconnecting/.test(l)),
    warned.join('\n'),
  );
});

test('a coordinator that only answers pings (no welcome, no work) is treated as gone: --give-up applies', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    const ping = setInterval(() => ws.ping(), 50); // alive, and nothing else
    ws.on('close', () => clearInterval(ping));
  });
  const warned: string[] = [];
  const client = new WorkerClient({
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    token: undefined,
    name: 'w',
    backend: await selectBackend('cpu'),
    giveUpMs: 600,
    idleMs: 300,
    log: () => undefined,
    warn: (l) => warned.push(l),
  });
  const t0 = Date.now();
  const result = await client.run();
  await new Promise((r) => wss.close(r));
  assert.equal(result.ok, false);
  assert.match(result.reason, /^no coordinator at .* for 1s/);
  assert.ok(Date.now() - t0 < 5_000, `gave up after ${Date.now() - t0} ms`);
  assert.ok(
    warned.some((l) => /no welcome or work from the coordinator for \d+ s \(pings alone do not count\)/.test(l)),
    warned.join('\n'),
  );
});

test('an assignment larger than this worker computes at once (maxShard) is refused, not computed', async () => {
  const manifest = buildManifest(getModelSpec('tiny-cnn'));
  let refusal: WorkerMsg | null = null;
  const coord = await fakeCoordinator(async (ws, next) => {
    ws.send(encode({ kind: 'weights', version: 0, data: initWeights(manifest, 1) }));
    ws.send(encode({ kind: 'assign', step: 1, version: 0, epoch: 0, shardId: 0, indices: new Uint32Array(40) }));
    refusal = await next();
  });
  const client = new WorkerClient({
    url: coord.url,
    token: undefined,
    name: 't',
    backend: await selectBackend('cpu'),
    giveUpMs: 0,
    maxShard: 16,
    log: () => undefined,
  });
  const running = client.run();
  await coord.done.catch(() => undefined);
  client.stop('test over');
  await running;
  assert.equal((refusal as WorkerMsg | null)?.kind, 'fail');
  assert.match((refusal as unknown as { message: string }).message, /"indices" has 40 entries \(at most 16 here/);
});

test('a coordinator that welcomed the worker, gave no work for a while and then went away counts as gone from the close, not from the welcome', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  let closedAt = 0;
  wss.once('connection', (ws) => {
    ws.send(encode({ kind: 'challenge', protocol: PROTOCOL_VERSION, nonce: 'n', auth: false }));
    ws.on('message', (d: Buffer) => {
      const m = parseWorkerMsg(decode(d, 1 << 24), { paramCount: 0, trainSize: 0, evalSize: 0 });
      if (m.kind === 'hello') {
        const spec = getModelSpec('tiny-cnn');
        ws.send(
          encode({
            kind: 'welcome',
            workerId: 1,
            runId: 'r',
            model: 'tiny-cnn',
            modelFingerprint: modelFingerprint(spec),
            manifest: buildManifest(spec),
            dataset: DATASET,
            datasetFingerprint: 'x',
            maxShard: 256,
          }),
        );
      } else if (m.kind === 'ready') {
        setTimeout(() => {
          // waiting for other workers, as a coordinator may, then gone
          closedAt = Date.now();
          ws.terminate();
          wss.close();
        }, 800);
      }
    });
  });
  const client = new WorkerClient({
    url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`,
    token: undefined,
    name: 'w',
    backend: await selectBackend('cpu'),
    giveUpMs: 500,
    log: () => undefined,
  });
  const result = await client.run();
  assert.equal(result.ok, false);
  assert.ok(Date.now() - closedAt >= 450, `gave up ${Date.now() - closedAt} ms after the close (--give-up 0.5 s)`);
});
