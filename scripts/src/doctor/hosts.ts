// `dtrain doctor --hosts FILE`: each host of a hostfile, one after another, dials a probe server on this
// machine (started over ssh as `dtrain doctor --probe-link ADDR:PORT`) and reports its round trip and
// goodput each way; then what each exchange mode would cost per step on those links (predict.ts).

import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { TrainerError } from '@dtrain/common';
import type { HostSlots } from '../cluster/hostfile.js';
import { shellQuote, sshArgv } from '../cluster/ssh.js';
import { type LinkProbe, startProbeServer } from './link-probe.js';
import { type HostLink, predictModes } from './predict.js';

/** Runs `dtrain <args>` on a host; resolves with its standard output. */
export type ProbeRunner = (host: string, args: string[]) => Promise<string>;

/** Over OpenSSH (BatchMode, the caller's -o options), with the remote `command` (default dtrain). */
export const sshRunner =
  (options: readonly string[], command: string): ProbeRunner =>
  (host, args) =>
    new Promise((resolve, reject) => {
      const child = spawn('ssh', sshArgv(host, [command, ...args].map(shellQuote).join(' '), options), {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let [out, err] = ['', ''];
      child.stdout.setEncoding('utf8').on('data', (d: string) => void (out = (out + d).slice(-65536)));
      child.stderr.setEncoding('utf8').on('data', (d: string) => void (err = (err + d).slice(-4096)));
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve(out) : reject(new Error(err.trim().split('\n').at(-1) || `exit ${code}`)),
      );
    });

/** The probe a host printed (its last line), checked. */
export function parseProbe(stdout: string): LinkProbe {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let p: Partial<LinkProbe>;
  try {
    p = JSON.parse(line) as Partial<LinkProbe>;
  } catch {
    throw new TrainerError('ERR_BAD_INPUT', `the probe printed "${line.slice(0, 80)}", not its result`);
  }
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  if (!ok(p.rttMs) || !ok(p.upMbitS) || !ok(p.downMbitS) || !ok(p.bytes) || p.upMbitS === 0 || p.downMbitS === 0)
    throw new TrainerError('ERR_BAD_INPUT', `the probe's result "${line.slice(0, 80)}" is incomplete`);
  return { rttMs: p.rttMs, upMbitS: p.upMbitS, downMbitS: p.downMbitS, bytes: p.bytes };
}

export interface DoctorHostsOptions {
  hosts: HostSlots[];
  model: string;
  params: number;
  /** This machine's address as the hosts reach it. */
  advertise: string;
  port: number;
  probeBytes: number;
  runner: ProbeRunner;
}

/** Probe every host's link, print each, then every mode's predicted communication per step; the links measured. */
export async function doctorHosts(o: DoctorHostsOptions, write: (line: string) => void): Promise<HostLink[]> {
  const server = await startProbeServer('0.0.0.0', o.port);
  const port = (server.address() as AddressInfo).port;
  const links: HostLink[] = [];
  try {
    for (const h of o.hosts) {
      const args = ['doctor', '--probe-link', `${o.advertise}:${port}`, '--probe-bytes', String(o.probeBytes)];
      try {
        const probe = parseProbe(await o.runner(h.host, args));
        links.push({ ...h, probe });
        write(
          `${h.host} (${h.slots} worker${h.slots === 1 ? '' : 's'}): round trip ${probe.rttMs} ms, ` +
            `up ${probe.upMbitS} Mbit/s, down ${probe.downMbitS} Mbit/s`,
        );
      } catch (e) {
        write(`${h.host}: no probe (${(e as Error).message}); left out of the prediction`);
      }
    }
  } finally {
    server.close();
  }
  const n = o.hosts.reduce((a, h) => a + h.slots, 0);
  write(
    `communication per step for ${o.model} (${o.params.toLocaleString('en-US')} values), ${n} workers, compute not included:`,
  );
  for (const p of predictModes(links, o.params)) write(`  ${p.mode}: ${p.ms} ms (set by ${p.limit})`);
  return links;
}
