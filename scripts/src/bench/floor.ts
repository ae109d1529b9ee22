// `dtrain bench floor`: the least CPU a Node process spends moving a step's bytes on this machine, the floor
// to set the coordinator's CPU per step against (issue 29, design note section 4). A plain `net` pump: N
// client connections (in one child process, over loopback TCP or a Unix socket) each send P x 4 bytes per
// step and get P x 4 back once all N have arrived, as N workers' gradients in and the weights out; no
// WebSocket framing, no validation, no buffers of our own per read. The server's CPU per step byte is the
// socket floor. Beside it memcpy on a 64 MB buffer (DRAM, not cache), in ns per byte.

import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memcpyMs } from './scale.js';

export interface FloorPoint {
  params: number;
  workers: number;
  transport: 'tcp' | 'unix';
  steps: number;
  bytesPerStep: number;
  stepMs: number;
  serverCpuMsPerStep: number;
  serverNsPerByte: number;
  memcpyNsPerByte: number;
  floorOverMemcpy: number;
}

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
}): Promise<FloorPoint> {
  const bytes = 4 * o.params;
  const out = Buffer.alloc(bytes, 2);
  const socks: Socket[] = [];
  const recv: number[] = [];
  const warmup = Math.max(1, Math.floor(o.steps / 4));
  let step = 0;
  let cpu0: NodeJS.CpuUsage | null = null;
  let t0 = 0;
  const server = createServer((s) => {
    const i = socks.push(s) - 1;
    recv[i] = 0;
    s.on('data', (chunk: Buffer) => {
      recv[i]! += chunk.length;
      if (socks.length < o.workers || !recv.every((r) => r >= bytes)) return;
      for (let k = 0; k < socks.length; k++) recv[k]! -= bytes;
      if (++step === warmup) [cpu0, t0] = [process.cpuUsage(), performance.now()];
      for (const x of socks) x.write(out);
    });
    s.on('error', () => undefined);
  });
  const where = o.transport === 'unix' ? join(mkdtempSync(join(tmpdir(), 'dtrain-floor-')), 'pump.sock') : 0;
  await new Promise<void>((r) => server.listen(where, r));
  const address = server.address();
  const target = typeof address === 'string' ? address : String(address?.port);
  const child = spawn(process.execPath, ['-e', CLIENT, target, String(o.workers), String(bytes), String(o.steps)], {
    stdio: 'inherit',
  });
  await new Promise((r) => child.on('exit', r));
  const [cpu, wall] = [process.cpuUsage(cpu0 ?? undefined), performance.now() - t0];
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
    steps: measured,
    bytesPerStep: stepBytes,
    stepMs: Number((wall / measured).toFixed(3)),
    serverCpuMsPerStep: Number(serverCpuMsPerStep.toFixed(3)),
    serverNsPerByte: Number(serverNsPerByte.toFixed(3)),
    memcpyNsPerByte: Number(memcpy.toFixed(4)),
    floorOverMemcpy: Number((serverNsPerByte / memcpy).toFixed(2)),
  };
}
