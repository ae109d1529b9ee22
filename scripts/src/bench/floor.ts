// `dtrain bench floor`: the least CPU a Node process spends moving a step's bytes on this machine, the floor
// to set the coordinator's CPU per step against (issue 29, design note section 4). A plain `net` pump: N
// client connections (in one child process, over loopback TCP or a Unix socket) each send P x 4 bytes per
// step and get P x 4 back once all N have arrived, as N workers' gradients in and the weights out; no
// WebSocket framing, no validation. The server's CPU per step byte is the socket floor, measured two ways:
// `reads: 'node'`, a 'data' event per read (Node allocates a buffer for each read of an accepted socket, as
// under ws today), and `reads: 'reused'`, every read of a connection into one buffer kept for it (the accepted
// handle re-wrapped in a Socket with `onread`, the option Node documents only for sockets a process dials:
// what a receive path without per-read garbage could reach). Beside it memcpy on a 64 MB buffer (DRAM, not
// cache), in ns per byte.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readIntoOneBuffer } from '@dtrain/coordinator';
import { GcPauses } from './gc-pauses.js';
import { memcpyMs } from './scale.js';

export interface FloorPoint {
  params: number;
  workers: number;
  transport: 'tcp' | 'unix';
  reads: FloorReads;
  steps: number;
  bytesPerStep: number;
  stepMs: number;
  serverCpuMsPerStep: number;
  serverNsPerByte: number;
  /** The server's garbage-collection pauses, ms per step. */
  serverGcMsPerStep: number;
  memcpyNsPerByte: number;
  floorOverMemcpy: number;
}

/** How the server reads: Node's buffer per read ('data' events) or one reused buffer per connection (onread). */
export type FloorReads = 'node' | 'reused';

/** The child's clients: each sends `bytes`, waits for `bytes` back, `steps` times (client sockets read into one static buffer). */
const CLIENT = `
const net = require('node:net');
const [where, n, bytes, steps] = process.argv.slice(1);
const out = Buffer.alloc(Number(bytes), 1);
for (let c = 0; c < Number(n); c++) {
  let got = 0, step = 0;
  const s = net.connect({
    ...(where.startsWith('/') ? { path: where } : { port: Number(where), host: '127.0.0.1' }),
    onread: { buffer: Buffer.alloc(1 << 16), callback: (nread) => {
      got += nread;
      while (got >= Number(bytes)) { got -= Number(bytes); if (++step < Number(steps)) s.write(out); else s.end(); }
    } },
  });
  s.on('connect', () => s.write(out));
}`;

/** ns per byte of Buffer.copy on a 64 MB buffer (memcpyMs: median of 5). */
export function memcpyNsPerByte(bytes = 64 * 1024 * 1024): number {
  return (memcpyMs(bytes) * 1e6) / bytes;
}

/** The pump for one (P, N): the server's CPU per step over the steps after a warmup of a quarter. */
export async function measureFloor(o: {
  params: number;
  workers: number;
  steps: number;
  transport: 'tcp' | 'unix';
  reads?: FloorReads;
}): Promise<FloorPoint> {
  const reads = o.reads ?? 'node';
  const bytes = 4 * o.params;
  const out = Buffer.alloc(bytes, 2);
  const socks: Socket[] = [];
  const recv: number[] = [];
  const warmup = Math.max(1, Math.floor(o.steps / 4));
  let step = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  let t0 = 0;
  const gc = new GcPauses();
  const received = (i: number, n: number): void => {
    recv[i]! += n;
    if (socks.length < o.workers || !recv.every((r) => r >= bytes)) return;
    for (let k = 0; k < socks.length; k++) recv[k]! -= bytes;
    if (++step === warmup) [cpu0, t0] = [process.cpuUsage(), performance.now()];
    for (const x of socks) x.write(out);
  };
  const server = createServer({ pauseOnConnect: reads === 'reused' }, (accepted) => {
    const i = socks.length;
    recv[i] = 0;
    const s = reads === 'reused' ? reusedReads(accepted, (n) => received(i, n)) : accepted;
    socks.push(s);
    if (reads === 'node') s.on('data', (chunk: Buffer) => received(i, chunk.length));
    s.on('error', () => undefined);
  });
  await pumpClients(server, o.transport, [String(o.workers), String(bytes), String(o.steps)]);
  const [cpu, wall] = [process.cpuUsage(cpu0 ?? undefined), performance.now() - t0];
  const gcMs = cpu0 ? gc.between(t0, t0 + wall) : 0;
  gc.stop();
  server.close();
  const measured = Math.max(1, step - warmup);
  const serverCpuMsPerStep = (cpu.user + cpu.system) / 1000 / measured;
  const stepBytes = 2 * o.workers * bytes;
  const serverNsPerByte = (serverCpuMsPerStep * 1e6) / stepBytes;
  const memcpy = memcpyNsPerByte();
  return {
    params: o.params,
    workers: o.workers,
    transport: o.transport,
    reads,
    steps: measured,
    bytesPerStep: stepBytes,
    stepMs: Number((wall / measured).toFixed(3)),
    serverCpuMsPerStep: Number(serverCpuMsPerStep.toFixed(3)),
    serverNsPerByte: Number(serverNsPerByte.toFixed(3)),
    serverGcMsPerStep: Number((gcMs / measured).toFixed(3)),
    memcpyNsPerByte: Number(memcpy.toFixed(4)),
    floorOverMemcpy: Number((serverNsPerByte / memcpy).toFixed(2)),
  };
}

/** Listen, then run the clients (CLIENT, with `args` after the address) in a child until they are done. */
async function pumpClients(server: Server, transport: 'tcp' | 'unix', args: string[]): Promise<void> {
  const where = transport === 'unix' ? join(mkdtempSync(join(tmpdir(), 'dtrain-floor-')), 'pump.sock') : 0;
  await new Promise<void>((r) => server.listen(where, r));
  const address = server.address();
  const target = typeof address === 'string' ? address : String(address?.port);
  const child = spawn(process.execPath, ['-e', CLIENT, target, ...args], { stdio: 'inherit' });
  await new Promise((r) => child.on('exit', r));
}

/** The accepted socket (not yet reading: the server pauses on connect) reading into one buffer (coordinator's readIntoOneBuffer). */
function reusedReads(accepted: Socket, onRead: (n: number) => void): Socket {
  const s = readIntoOneBuffer(accepted, 1 << 20, (data) => onRead(data.length));
  if (!s) throw new Error("this Node's sockets expose no handle to read into one buffer");
  return s;
}
