import assert from 'node:assert/strict';
import { test } from 'node:test';
import { predictModes, wireBytes } from '../../src/doctor/predict.js';

const link = (host: string, slots: number, up = 1000, down = 1000, rttMs = 0.1) => ({
  host,
  slots,
  probe: { rttMs, upMbitS: up, downMbitS: down, bytes: 1 },
});

test('every mode on two hosts of 4 at 1 Gbit/s: the bytes through the busiest link, plus a round trip', () => {
  const p = 122_570;
  assert.equal(wireBytes('fp32', p), 490_280);
  assert.equal(wireBytes('int8', p), 122_570 + 4 * 30);
  const modes = predictModes([link('a', 4), link('b', 4)], p);
  const ms = Object.fromEntries(modes.map((m) => [m.mode, m.ms]));
  assert.deepEqual(ms, {
    'star, fp32 both ways': Number(((8 * 490_280 * 8) / 1e6 + 0.1).toFixed(2)),
    'relays, fp32 both ways': Number(((2 * 490_280 * 8) / 1e6 + 0.1).toFixed(2)),
    'star, int8 both ways': Number(((8 * 122_690 * 8) / 1e6 + 0.1).toFixed(2)),
    'relays, int8 both ways': Number(((2 * 122_690 * 8) / 1e6 + 0.1).toFixed(2)),
    // 30 blocks over 2 hosts: 15 each; a host's link: the vector plus the other's share of its slices
    'sharded summation, fp32 both ways': Number((((490_280 + 15 * 16_384) * 8) / 1e6 + 0.2).toFixed(2)),
    'sharded summation, int8 both ways': Number((((122_690 + 15 * 4_096) * 8) / 1e6 + 0.2).toFixed(2)),
  });
  assert.equal(modes[0]!.mode, 'sharded summation, int8 both ways', 'fastest first');
  assert.match(modes.at(-1)!.limit, /the coordinator's link in \(3\.92 MB per step\)/);
});

test("a host's slow link sets the step where the coordinator's is not the limit", () => {
  const modes = predictModes([link('a', 4), link('slow', 4, 1000, 100)], 122_570);
  const relays = modes.find((m) => m.mode === 'relays, fp32 both ways')!;
  assert.equal(relays.limit, "slow's link down");
  assert.equal(relays.ms, Number(((490_280 * 8) / 1e5 + 0.1).toFixed(2)));
  assert.deepEqual(predictModes([], 10), []);
  assert.ok(!predictModes([link('a', 4)], 10).some((m) => m.mode.startsWith('sharded')), 'one host: no mesh');
});
