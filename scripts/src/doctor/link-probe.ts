// A link probe for `dtrain doctor --hosts`: this machine listens (where the coordinator would), each host
// dials it (`dtrain doctor --probe-link ADDR:PORT`, started over ssh) and measures the round trip and the
// goodput each way over one TCP connection, as a worker's link would carry a step. Commands, one byte each:
// 'P' ping (answered 'P'), 'U' + u32 n (n bytes follow; answered 'K' once all arrived), 'D' + u32 n (n
// bytes sent back). The server holds no state beyond one connection's current command and bounds n.

import { connect, createServer, type Server, type Socket } from 'node:net';
import { median, TrainerError } from '@dtrain/common';

/** Most bytes one upload or download of a probe may move. */
export const MAX_PROBE_BYTES = 256 * 1024 * 1024;
const PINGS = 20;

export interface LinkProbe {
  rttMs: number;
  /** Goodput from the host to this machine (a worker's gradients), Mbit/s. */
  upMbitS: number;
  /** Goodput from this machine to the host (the weights), Mbit/s. */
  downMbitS: number;
  bytes: number;
}

/** The probe server: answers pings, swallows uploads, sends downloads. */
export function startProbeServer(host: string, port: number): Promise<Server> {
  const server = createServer((s) => serveProbe(s));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function serveProbe(s: Socket): void {
  let pending = Buffer.alloc(0);
  let uploading = 0;
  s.on('error', () => undefined);
  s.setNoDelay(true);
  s.on('data', (chunk: Buffer) => {
    if (uploading > 0) {
      const take = Math.min(uploading, chunk.length);
      uploading -= take;
      if (uploading === 0) s.write('K');
      chunk = chunk.subarray(take);
    }
    pending = Buffer.concat([pending, chunk]);
    while (pending.length > 0 && uploading === 0) {
      const cmd = String.fromCharCode(pending[0]!);
      if (cmd === 'P') {
        s.write('P');
        pending = pending.subarray(1);
        continue;
      }
      if ((cmd !== 'U' && cmd !== 'D') || pending.length < 5) {
        if (cmd !== 'U' && cmd !== 'D') s.destroy();
        return;
      }
      const n = pending.readUInt32LE(1);
      if (n < 1 || n > MAX_PROBE_BYTES) return void s.destroy();
      pending = pending.subarray(5);
      if (cmd === 'D') s.write(Buffer.alloc(n));
      else {
        const take = Math.min(n, pending.length);
        uploading = n - take;
        pending = pending.subarray(take);
        if (uploading === 0) s.write('K');
      }
    }
  });
}

/** Resolves with the next `n` bytes the socket receives (counted, not kept). */
function receive(s: Socket, n: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = n;
    const onData = (d: Buffer): void => {
      left -= d.length;
      if (left > 0) return;
      s.off('data', onData).off('error', reject);
      resolve();
    };
    s.on('data', onData).on('error', reject);
  });
}

function command(kind: 'U' | 'D', n: number): Buffer {
  const b = Buffer.alloc(5);
  b.write(kind, 0);
  b.writeUInt32LE(n, 1);
  return b;
}

/** Measure the link to a probe server: the median of 20 round trips, then `bytes` up and `bytes` down. */
export async function probeLink(host: string, port: number, bytes: number): Promise<LinkProbe> {
  if (!(Number.isInteger(bytes) && bytes >= 1 && bytes <= MAX_PROBE_BYTES))
    throw new TrainerError('ERR_BAD_CONFIG', `--probe-bytes ${bytes} is not 1..${MAX_PROBE_BYTES}`);
  const s = connect({ host, port });
  s.setNoDelay(true);
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  try {
    const rtts: number[] = [];
    for (let i = 0; i < PINGS; i++) {
      const t0 = performance.now();
      const back = receive(s, 1);
      s.write('P');
      await back;
      rtts.push(performance.now() - t0);
    }
    const t1 = performance.now();
    const ack = receive(s, 1);
    s.write(command('U', bytes));
    s.write(Buffer.alloc(bytes));
    await ack;
    const up = performance.now() - t1;
    const t2 = performance.now();
    const down = receive(s, bytes);
    s.write(command('D', bytes));
    await down;
    const downMs = performance.now() - t2;
    const rttMs = median(rtts);
    // each transfer took its bytes' time plus one round trip (the request or the first byte out, the ack or the last byte back)
    const mbit = (ms: number): number => Number(((bytes * 8) / 1e3 / Math.max(1e-3, ms - rttMs)).toFixed(1));
    return { rttMs: Number(rttMs.toFixed(3)), upMbitS: mbit(up), downMbitS: mbit(downMs), bytes };
  } finally {
    s.destroy();
  }
}
