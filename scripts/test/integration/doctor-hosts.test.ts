// dtrain doctor --hosts on network-namespace hosts with tc-shaped links (root): the probe measures the
// shaped rate, and the prediction follows from it.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetHarness, netnsUnavailable } from '../../src/bench/netns.js';
import { doctorHosts } from '../../src/doctor/hosts.js';

test(
  'doctor --hosts across two namespace hosts at 100 Mbit/s: goodput near the rate each way, the star limited by the coordinator link',
  {
    skip: netnsUnavailable() ?? false,
    timeout: 120_000,
  },
  async () => {
    const net = new NetHarness(['d1', 'd2'], { rate: '100mbit', rootHost: true });
    try {
      const lines: string[] = [];
      const links = await doctorHosts(
        {
          hosts: net.hosts.map((h) => ({ host: h.name, slots: 2 })),
          model: 'reference-cnn',
          params: 122_570,
          advertise: net.root!.ip,
          port: 0,
          probeBytes: 4 * 1024 * 1024,
          runner: async (host, args) => {
            const p = net.dtrain(net.hosts.find((h) => h.name === host)!, args);
            const code = await p.exited;
            if (code !== 0) throw new Error(p.lines.join('\n'));
            return p.lines.join('\n');
          },
        },
        (l) => lines.push(l),
      );
      assert.equal(links.length, 2, lines.join('\n'));
      for (const l of links)
        for (const mbit of [l.probe.upMbitS, l.probe.downMbitS])
          assert.ok(mbit > 75 && mbit < 110, `${l.host}: ${mbit} Mbit/s`);
      const star = lines.find((l) => l.startsWith('  star, fp32'))!;
      assert.match(star, /set by the coordinator's link (in|out) \(1\.96 MB per step\)/, lines.join('\n'));
    } finally {
      await net.close();
    }
  },
);
