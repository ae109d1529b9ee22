// What each way of exchanging a step would cost on the measured links (`dtrain doctor --hosts`), before a
// job starts: the star (every worker its own connection to the coordinator), relays (one connection per
// host with more than one worker) or sharded summation (the relays summing across hosts in slices), with
// fp32 or int8 both ways (--grad-wire int8 --weight-wire int8). A
// step moves the gradients in and the weights out through the coordinator's link and each host's; the
// slowest of those transfers, plus one round trip, is the step's communication time. The coordinator's
// link is taken to carry at least the best goodput any host measured to it each way (one TCP stream fills
// a path). Compute and CPU are not in it: `dtrain doctor` on a worker host measures compute.

import { GRAD_BLOCK } from '@dtrain/common';
import type { LinkProbe } from './link-probe.js';

export interface HostLink {
  host: string;
  slots: number;
  probe: LinkProbe;
}

export interface ModePrediction {
  mode: string;
  /** Communication per step, ms. */
  ms: number;
  /** The transfer that sets it, in words. */
  limit: string;
}

/** Bytes of one vector of `params` values on a wire. */
export function wireBytes(wire: 'fp32' | 'int8', params: number): number {
  return wire === 'fp32' ? 4 * params : params + 4 * Math.ceil(params / GRAD_BLOCK);
}

const msFor = (bytes: number, mbitS: number): number => (bytes * 8) / 1e3 / Math.max(1e-6, mbitS);

/** One mode: the slowest transfer of a step (coordinator in and out, each host up and down) plus a round trip. */
function predict(links: readonly HostLink[], params: number, relays: boolean, wire: 'fp32' | 'int8'): ModePrediction {
  const b = wireBytes(wire, params);
  const conns = (l: HostLink): number => (relays ? 1 : l.slots);
  const total = links.reduce((a, l) => a + conns(l), 0) * b;
  const best = {
    up: Math.max(...links.map((l) => l.probe.upMbitS)),
    down: Math.max(...links.map((l) => l.probe.downMbitS)),
  };
  const terms: [number, string][] = [
    [msFor(total, best.up), `the coordinator's link in (${(total / 1e6).toFixed(2)} MB per step)`],
    [msFor(total, best.down), `the coordinator's link out (${(total / 1e6).toFixed(2)} MB per step)`],
    ...links.flatMap((l): [number, string][] => [
      [msFor(conns(l) * b, l.probe.upMbitS), `${l.host}'s link up`],
      [msFor(conns(l) * b, l.probe.downMbitS), `${l.host}'s link down`],
    ]),
  ];
  const [ms, limit] = terms.reduce((a, t) => (t[0] > a[0] ? t : a));
  const rtt = Math.max(...links.map((l) => l.probe.rttMs));
  return { mode: `${relays ? 'relays' : 'star'}, ${wire} both ways`, ms: Number((ms + rtt).toFixed(2)), limit };
}

/**
 * Sharded summation (two or more hosts, each behind a relay): host j's link carries the whole vector plus
 * (H - 1) times its own slices each way, the coordinator's one vector each way; the slices stream, so the
 * busiest link sets the step.
 */
function predictMesh(links: readonly HostLink[], params: number, wire: 'fp32' | 'int8'): ModePrediction {
  const per = (wire === 'fp32' ? 4 : 1) * GRAD_BLOCK; // the bytes of a block on the wire
  const blocks = Math.ceil(params / GRAD_BLOCK);
  const h = links.length;
  const share = (j: number): number => (Math.floor(((j + 1) * blocks) / h) - Math.floor((j * blocks) / h)) * per;
  const b = wireBytes(wire, params);
  const best = Math.max(...links.map((l) => Math.min(l.probe.upMbitS, l.probe.downMbitS)));
  const terms: [number, string][] = [
    [msFor(b, best), `the coordinator's link (${(b / 1e6).toFixed(2)} MB each way)`],
    ...links.flatMap((l, j): [number, string][] => [
      [msFor(b + (h - 1) * share(j), l.probe.upMbitS), `${l.host}'s link up`],
      [msFor(b + (h - 1) * share(j), l.probe.downMbitS), `${l.host}'s link down`],
    ]),
  ];
  const [ms, limit] = terms.reduce((a, t) => (t[0] > a[0] ? t : a));
  const rtt = Math.max(...links.map((l) => l.probe.rttMs));
  return { mode: `sharded summation, ${wire} both ways`, ms: Number((ms + 2 * rtt).toFixed(2)), limit };
}

/** Every mode on these links for a model of `params` values, fastest first. */
export function predictModes(links: readonly HostLink[], params: number): ModePrediction[] {
  if (links.length === 0) return [];
  const modes = [false, true].flatMap((relays) =>
    (['fp32', 'int8'] as const).map((w) => predict(links, params, relays, w)),
  );
  if (links.length > 1) modes.push(...(['fp32', 'int8'] as const).map((w) => predictMesh(links, params, w)));
  return modes.sort((a, b) => a.ms - b.ms);
}
