import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sliceLayout } from '@dtrain/common';
import { netnsUnavailable } from '../../src/bench/netns.js';
import { benchScale, linkBounds, rateGbit } from '../../src/bench/scale.js';

test('link bounds: the flat design moves N x P x 4 bytes each way, a ring 2 (N-1)/N x P x 4', () => {
  // 8 workers x 11M params at 10 Gbit/s: 352 MB -> 281.6 ms; the ring 616 MB/8 = 77 MB -> 61.6 ms
  const b = linkBounds(8, 11e6, 10);
  assert.equal(Number(b.flatMs.toFixed(1)), 281.6);
  assert.equal(Number(b.ringMs.toFixed(1)), 61.6);
  assert.equal(linkBounds(1, 1000, 1).ringMs, 0);
  assert.equal(rateGbit('1gbit'), 1);
  assert.equal(rateGbit('250mbit'), 0.25);
  assert.throws(() => rateGbit('fast'), /is not a tc rate/);
});

test(
  'a tiny scale run on loopback: each point moves about N x P x 4 bytes each way per step',
  { timeout: 120_000 },
  async () => {
    const lines: string[] = [];
    const points = await benchScale(
      {
        models: ['tiny-cnn'],
        workers: [1, 2],
        steps: 8,
        computeMs: 5,
        gradWire: 'fp32',
        weightWire: 'fp32',
        netnsHosts: 0,
        rate: '1gbit',
        maxBytesPerStep: 1e9,
      },
      (l) => lines.push(l),
    );
    assert.deepEqual(
      points.map((p) => p.workers),
      [1, 2],
    );
    for (const p of points) {
      const payload = p.workers * p.params * 4;
      assert.ok(
        p.bytesInPerStep >= payload && p.bytesInPerStep < payload * 1.05,
        `in ${p.bytesInPerStep} vs ${payload}`,
      );
      assert.ok(
        p.bytesOutPerStep >= payload && p.bytesOutPerStep < payload * 1.05,
        `out ${p.bytesOutPerStep} vs ${payload}`,
      );
      assert.ok(p.stepMs >= 5, 'the simulated compute time is part of every step');
      assert.ok(p.coordCpuMsPerStep > 0 && p.memcpyMsPerStep >= 0);
    }
    assert.equal(lines.length, 2);
  },
);

const unavailable = netnsUnavailable();
test(
  'across namespace hosts: workers on shaped links, with the link bounds',
  { skip: unavailable ?? false, timeout: 120_000 },
  async () => {
    const [p] = await benchScale(
      {
        models: ['tiny-cnn'],
        workers: [2],
        steps: 20,
        computeMs: 0,
        gradWire: 'fp32',
        weightWire: 'fp32',
        netnsHosts: 2,
        rate: '100mbit',
        maxBytesPerStep: 1e9,
      },
      () => undefined,
    );
    assert.equal(p!.linkGbit, 0.1);
    // 2 x 18,234 params x 4 bytes = 1.167 Mbit at 100 Mbit/s: 11.67 ms; a step cannot beat the flat bound
    assert.equal(p!.flatBoundMs, 11.67);
    assert.ok(p!.stepMs >= p!.flatBoundMs!, `step ${p!.stepMs} ms vs bound ${p!.flatBoundMs} ms`);
    // tc's counters: each host's link carries one gradient up and one weights copy down per step, the
    // coordinator's both; plus TCP/IP and Ethernet headers and ACKs (a few per cent), nothing else. The
    // counters are read as step records come out, so a window's edges may cut a step's traffic (+-1 of 15)
    const payload = p!.params * 4;
    const links = p!.linkBytesPerStep!;
    for (const h of ['w1', 'w2'])
      for (const dir of ['up', 'down'] as const)
        assert.ok(
          links[h]![dir] > 0.9 * payload && links[h]![dir] < 1.2 * payload,
          `${h} ${dir}: ${links[h]![dir]} bytes per step vs ${payload}`,
        );
    const root = links['root']!;
    assert.ok(root.down > 1.8 * payload && root.down < 2.4 * payload, JSON.stringify(links));
  },
);

test('int8 gradients: the simulated workers send a quarter of the bytes', { timeout: 120_000 }, async () => {
  const [p] = await benchScale(
    {
      models: ['tiny-cnn'],
      workers: [2],
      steps: 6,
      computeMs: 0,
      gradWire: 'int8',
      weightWire: 'fp32',
      netnsHosts: 0,
      rate: '1gbit',
      maxBytesPerStep: 1e9,
    },
    () => undefined,
  );
  const payload = 2 * p!.params; // one byte per value, plus a float32 scale per 4096
  assert.ok(p!.bytesInPerStep >= payload && p!.bytesInPerStep < payload * 1.1, `in ${p!.bytesInPerStep} vs ${payload}`);
  assert.ok(p!.bytesOutPerStep >= 4 * payload, 'weights still go out as float32');
});

test(
  'with relays on namespace hosts the coordinator carries one gradient per host, not per worker',
  { skip: unavailable ?? false, timeout: 120_000 },
  async () => {
    const [p] = await benchScale(
      {
        models: ['tiny-cnn'],
        workers: [4],
        steps: 8,
        computeMs: 0,
        gradWire: 'fp32',
        weightWire: 'fp32',
        netnsHosts: 2,
        rate: '1gbit',
        maxBytesPerStep: 1e9,
        relays: true,
        mesh: false,
      },
      () => undefined,
    );
    const perHost = p!.params * 4;
    assert.ok(
      p!.bytesInPerStep >= 2 * perHost && p!.bytesInPerStep < 2.05 * perHost,
      `in ${p!.bytesInPerStep}: 2 relays x ${perHost}`,
    );
    assert.equal(p!.workers, 4);
  },
);

test(
  'sharded summation on namespace hosts: each link carries P + (H - 1) x its slice each way, the coordinator P',
  { skip: unavailable ?? false, timeout: 120_000 },
  async () => {
    const [p] = await benchScale(
      {
        ...{ models: ['tiny-cnn'], workers: [3], steps: 16, computeMs: 0, gradWire: 'fp32', weightWire: 'fp32' },
        ...{ netnsHosts: 3, rate: '1gbit', maxBytesPerStep: 1e9, relays: true },
      },
      () => undefined,
    );
    assert.ok(p!.meshSteps >= p!.steps - 1, `${p!.meshSteps} of ${p!.steps} steps through the mesh`);
    const P = p!.params * 4;
    const slices = sliceLayout(p!.params, 3).map((s) => s.length * 4);
    const links = p!.linkBytesPerStep!;
    // payload plus framing, TCP/IP and Ethernet headers and ACKs (a few per cent); a window's edges may cut a step
    const near = (got: number, want: number, what: string) =>
      assert.ok(got > 0.93 * want && got < 1.15 * want, `${what}: ${got} bytes per step vs ${want}`);
    // which host owns which slice follows the order they connected in: compare the links by size
    const want = slices.map((s) => P + 2 * s).sort((a, b) => a - b);
    for (const dir of ['up', 'down'] as const) {
      const got = ['w1', 'w2', 'w3'].map((h) => links[h]![dir]).sort((a, b) => a - b);
      got.forEach((g, i) => near(g, want[i]!, `${dir} of the host with the ${i + 1}. smallest slice`));
    }
    near(links['root']!.up, P, 'coordinator up');
    near(links['root']!.down, P, 'coordinator down');
  },
);
