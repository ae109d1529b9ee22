// Multi-host harness: Linux network namespaces as hosts, each with its own address on one bridge, links
// shaped with `tc tbf` (netem is not in these kernels), cut and healed on demand, real `dtrain`
// processes inside. Needs root (CI is root); elsewhere `netnsUnavailable()` says why and tests skip.
// Everything is torn down on close(), and on process exit even when a test fails.

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_PATH } from '../processes/path.js';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why namespaces cannot be used here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces (CI runs as root)';
  try {
    sh('ip', ['-V']);
    sh('tc', ['-V']);
  } catch {
    return 'needs iproute2 (ip, tc)';
  }
  return null;
}

export interface Host {
  name: string;
  ns: string;
  ip: string;
  /** The host side of its link (on the bridge): down = cable pulled. */
  veth: string;
}

export interface SpawnedProcess {
  child: ChildProcess;
  host: Host;
  /** Every line it wrote so far (stdout and stderr). */
  lines: string[];
  exited: Promise<number | null>;
}

export class NetHarness {
  readonly hosts: Host[] = [];
  private readonly procs: SpawnedProcess[] = [];
  private readonly id: string;
  private readonly bridge: string;
  private readonly subnet: string;
  private closed = false;
  private readonly onExit = (): void => this.teardown();
  /** Ctrl-C or a timeout's SIGTERM: tear down, then die of the signal as before. */
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.teardown();
    process.kill(process.pid, sig);
  };

  /** This process's own link onto the bridge when built with `rootHost` (it then owns .1 and the hosts follow). */
  readonly root: Host | null = null;

  /**
   * `names[0]` gets .1, the next .2 and so on; `rate` (e.g. '1gbit') shapes both directions of each link.
   * `rootHost`: this process (the root namespace) joins as one more host, .1, through its own shaped link;
   * a benchmark's coordinator then runs here and the hosts' workers reach it.
   */
  constructor(
    names: string[],
    readonly opts: { rate?: string; logDir?: string; rootHost?: boolean } = {},
  ) {
    this.id = `dt${process.pid % 100_000}`;
    this.bridge = `${this.id}br`;
    this.subnet = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    try {
      this.build(names);
    } catch (e) {
      this.teardown();
      throw e;
    }
  }

  private build(names: string[]): void {
    sh('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
    // the bridge must not answer ARP for this namespace's address (.1 on its own veth): frames to the
    // bridge's MAC would reach this namespace past that veth's shaping and counters
    writeFileSync(`/proc/sys/net/ipv4/conf/${this.bridge}/arp_ignore`, '1');
    sh('ip', ['link', 'set', this.bridge, 'up']);
    const first = this.opts.rootHost ? 2 : 1;
    if (this.opts.rootHost) {
      const root: Host = { name: 'root', ns: '', ip: `${this.subnet}.1`, veth: `${this.id}r1` };
      sh('ip', ['link', 'add', `${this.id}r0`, 'type', 'veth', 'peer', 'name', root.veth]);
      sh('ip', ['link', 'set', root.veth, 'master', this.bridge, 'up']);
      sh('ip', ['addr', 'add', `${root.ip}/24`, 'dev', `${this.id}r0`]);
      sh('ip', ['link', 'set', `${this.id}r0`, 'up']);
      (this as { root: Host | null }).root = root;
    } else {
      sh('ip', ['addr', 'add', `${this.subnet}.254/24`, 'dev', this.bridge]);
    }
    names.forEach((name, i) => {
      const host: Host = { name, ns: `${this.id}-${name}`, ip: `${this.subnet}.${i + first}`, veth: `${this.id}h${i}` };
      sh('ip', ['netns', 'add', host.ns]);
      sh('ip', ['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns]);
      sh('ip', ['link', 'set', host.veth, 'master', this.bridge, 'up']);
      this.exec(host, ['ip', 'link', 'set', 'lo', 'up']);
      this.exec(host, ['ip', 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0']);
      this.exec(host, ['ip', 'link', 'set', 'eth0', 'up']);
      this.hosts.push(host);
    });
    if (this.opts.rate) this.shape(this.opts.rate);
  }

  /** Shape every link to `rate` (tc tbf rate syntax, e.g. '1gbit', '5mbit') in both directions. */
  shape(rate: string): void {
    for (const host of this.hosts) this.shapeHost(host, rate);
    const tbf = ['root', 'tbf', 'rate', rate, 'burst', burstFor(rate), 'latency', '200ms'];
    if (this.root) {
      sh('tc', ['qdisc', 'replace', 'dev', this.root.veth, ...tbf]);
      sh('tc', ['qdisc', 'replace', 'dev', `${this.id}r0`, ...tbf]);
    }
  }

  host(name: string): Host {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Run a command inside a host and return its output. */
  exec(host: Host, argv: string[]): string {
    return sh('ip', ['netns', 'exec', host.ns, ...argv]);
  }

  /**
   * Bytes each shaped link has sent so far (tc's counters: Ethernet frames, headers and ACKs included), by
   * host name ('root' for this process's own link, its `down` the bytes its side received): `up` from the
   * host onto the bridge, `down` to it.
   */
  linkBytes(): Map<string, { up: number; down: number }> {
    const sent = (out: string): number => Number(/Sent (\d+) bytes/.exec(out)?.[1] ?? Number.NaN);
    const qdisc = (dev: string) => ['-s', 'qdisc', 'show', 'dev', dev];
    const m = new Map<string, { up: number; down: number }>();
    for (const h of this.hosts)
      m.set(h.name, { up: sent(this.exec(h, ['tc', ...qdisc('eth0')])), down: sent(sh('tc', qdisc(h.veth))) });
    // this process's link: its own side's counter going out; coming in, what its side received (the bridge
    // port's qdisc counter toward this namespace reads 0 here; the hosts also send to each other under a mesh)
    if (this.root) {
      const received = Number(readFileSync(`/sys/class/net/${this.id}r0/statistics/rx_bytes`, 'utf8'));
      m.set('root', { up: sent(sh('tc', qdisc(`${this.id}r0`))), down: received });
    }
    return m;
  }

  /** Start `dtrain <args>` inside a host (ip netns exec execs it: the pid is dtrain's). */
  dtrain(host: Host, args: string[], env: NodeJS.ProcessEnv = {}): SpawnedProcess {
    return this.spawn(host, [process.execPath, CLI_PATH, ...args], env);
  }

  spawn(host: Host, argv: string[], env: NodeJS.ProcessEnv = {}): SpawnedProcess {
    const child = spawn('ip', ['netns', 'exec', host.ns, ...argv], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    const log = this.opts.logDir ? createWriteStream(join(this.opts.logDir, `${host.name}-${child.pid}.log`)) : null;
    for (const s of [child.stdout, child.stderr]) {
      let rest = '';
      s.setEncoding('utf8').on('data', (d: string) => {
        const parts = (rest + d).split('\n');
        rest = parts.pop() ?? '';
        lines.push(...parts);
        log?.write(parts.map((l) => `${l}\n`).join(''));
      });
    }
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const p = { child, host, lines, exited };
    this.procs.push(p);
    return p;
  }

  /** Shape one host's link to `rate`, both directions (a slow host among fast ones). */
  shapeHost(host: Host, rate: string): void {
    const tbf = ['root', 'tbf', 'rate', rate, 'burst', burstFor(rate), 'latency', '200ms'];
    sh('tc', ['qdisc', 'replace', 'dev', host.veth, ...tbf]);
    this.exec(host, ['tc', 'qdisc', 'replace', 'dev', 'eth0', ...tbf]);
  }

  /** Pull the host's cable (both directions drop), or plug it back in. */
  setLink(host: Host, up: boolean): void {
    sh('ip', ['link', 'set', host.veth, up ? 'up' : 'down']);
  }

  /** Kill every process still running, delete the namespaces and the bridge. */
  async close(): Promise<void> {
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(this.procs.map((p) => p.exited));
    this.teardown();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (const h of this.hosts) {
      try {
        for (const pid of sh('ip', ['netns', 'pids', h.ns]).split('\n').filter(Boolean))
          process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone already */
      }
      try {
        sh('ip', ['netns', 'del', h.ns]);
      } catch {
        /* gone already */
      }
    }
    try {
      sh('ip', ['link', 'del', this.bridge]);
    } catch {
      /* gone already */
    }
    if (this.root)
      try {
        sh('ip', ['link', 'del', `${this.id}r0`]);
      } catch {
        /* gone already */
      }
  }
}

/** A tc rate in bits per second ("1gbit" -> 1e9, "500mbit" -> 5e8, "5mbit" -> 5e6), or null when it is not one. */
export function rateBits(rate: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(k|m|g)?bit$/i.exec(rate);
  return m ? Number(m[1]) * ({ k: 1e3, m: 1e6, g: 1e9 }[(m[2] ?? '').toLowerCase() as 'k' | 'm' | 'g'] ?? 1) : null;
}

/**
 * The token bucket: what tbf needs at least (rate / HZ, one timer tick of traffic at HZ = 250, plus 25%),
 * and no more, so that a transfer larger than a few packets really runs at the rate.
 */
function burstFor(rate: string): string {
  const bits = rateBits(rate) ?? 1e9;
  return `${Math.max(32, Math.ceil(((bits / 8 / 250) * 1.25) / 1024))}kb`;
}

/** Resolves once `predicate` holds (polled), or rejects after `timeoutMs` with `what`. */
export async function waitUntil(
  what: string,
  predicate: () => boolean,
  timeoutMs: number,
  everyMs = 100,
): Promise<void> {
  const t0 = Date.now();
  while (!predicate()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
