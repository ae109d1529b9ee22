// Every admission outcome survives every protocol-level error: a connection that was admitted (proved
// with the token), refused at the door (no worker room), evicted (by its own address's newer connection,
// or by the full pending cap), timed out, closed by us after a bad frame, or closed by the peer mid-frame gets each
// kind of broken framing (wire-frames.ts); the server stays up and a real
// worker still joins. Before the fix, the first oversized frame on a refused socket killed the process.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '@dtrain/common';
import { CoordinatorServer } from '@dtrain/coordinator';
import { CoordinatorLink } from '@dtrain/worker/link';
import { dialRaw, handshake, nextFrame, OP, type RawConn, wsFrame } from './raw-ws.js';
import { PROTOCOL_ERRORS, protocolError } from './wire-frames.js';

const TOKEN = 'adm-token';
const LIMITS = { maxPending: 4, maxPendingPerAddress: 2, maxWorkers: 8 };
const MAX_PAYLOAD = 1 << 20;

async function openServer(lines: string[], admission = LIMITS): Promise<{ server: CoordinatorServer; port: number }> {
  const server = new CoordinatorServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    maxParams: 4,
    admission,
    handshakeTimeoutMs: 150,
    log: (l) => lines.push(l),
  });
  server.setRun(
    {
      runId: 'r',
      model: 'tiny-cnn',
      modelFingerprint: 'mfp',
      manifest: [{ name: 'w', shape: [4], offset: 0, length: 4 }],
      dataset: {
        name: 'synthetic',
        trainSize: 10,
        testSize: 10,
        seed: 1,
        valFraction: 0,
        normalize: false,
        augment: false,
      },
      datasetFingerprint: 'dfp',
      maxShard: 256,
    },
    { paramCount: 4, trainSize: 10, evalSize: 10 },
  );
  return { server, port: await server.listen() };
}

/** Wait for a close frame from the server (true) or give up after `ms`. */
async function closeFrame(c: RawConn, ms = 2000): Promise<boolean> {
  for (let f = await nextFrame(c, ms); f; f = await nextFrame(c, ms)) if (f.opcode === OP.close) return true;
  return false;
}

async function drained(server: CoordinatorServer): Promise<void> {
  for (let i = 0; i < 200 && server.admitted.pending + server.admitted.proved > 0; i++)
    await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(server.admitted, { pending: 0, proved: 0 }, 'connections left behind');
}

type Drive = (port: number, hit: (c: RawConn) => void) => Promise<{ reached: boolean; conns: RawConn[] }>;

/** How each admission outcome is reached; `hit` sends the hostile bytes on the connection(s) in that state. */
const OUTCOMES: Record<string, Drive> = {
  'admitted (token proved)': async (port, hit) => {
    const c = await dialRaw(port, { localAddress: '127.0.0.10' });
    const ok = (await handshake(c, TOKEN)) !== null;
    hit(c);
    return { reached: ok, conns: [c] };
  },
  'refused at the door (no worker room)': async (port, hit) => {
    const holder = await dialRaw(port, { localAddress: '127.0.0.11' });
    const proved = (await handshake(holder, TOKEN)) !== null; // the one worker place (maxWorkers 1 here) is taken
    const c = await dialRaw(port, { localAddress: '127.0.0.11' });
    hit(c); // at once: the refusal and its close are on their way
    return { reached: proved && c.status === 101 && (await closeFrame(c)), conns: [holder, c] };
  },
  'evicted by a newer connection of its address': async (port, hit) => {
    const held = [
      await dialRaw(port, { localAddress: '127.0.0.19' }),
      await dialRaw(port, { localAddress: '127.0.0.19' }),
    ];
    const c = await dialRaw(port, { localAddress: '127.0.0.19' }); // the address's share is full: its oldest goes
    hit(held[0]!);
    return { reached: await closeFrame(held[0]!), conns: [...held, c] };
  },
  'evicted by the full pending cap': async (port, hit) => {
    const held: RawConn[] = [];
    for (const a of ['127.0.0.12', '127.0.0.12', '127.0.0.13', '127.0.0.13'])
      held.push(await dialRaw(port, { localAddress: a }));
    const c = await dialRaw(port, { localAddress: '127.0.0.14' }); // the pending cap is full: the oldest of the busiest address goes
    const evicted = held[0]!;
    hit(evicted);
    return { reached: await closeFrame(evicted), conns: [...held, c] };
  },
  'timed out': async (port, hit) => {
    const c = await dialRaw(port, { localAddress: '127.0.0.15' });
    const reached = await closeFrame(c); // no hello within the handshake deadline
    hit(c);
    return { reached, conns: [c] };
  },
  'closed by us after a bad frame': async (port, hit) => {
    const c = await dialRaw(port, { localAddress: '127.0.0.16' });
    c.sock.write(wsFrame({ opcode: OP.binary, payload: Buffer.from('not msgpack at all') }));
    hit(c); // while our close is on its way
    return { reached: await closeFrame(c), conns: [c] };
  },
  'closed by the peer mid-frame': async (port, hit) => {
    const c = await dialRaw(port, { localAddress: '127.0.0.17' });
    hit(c);
    return { reached: c.status === 101, conns: [c] };
  },
};

for (const [outcome, drive] of Object.entries(OUTCOMES)) {
  test(`${outcome}: every protocol-level error is survived; a real worker joins after`, async () => {
    const lines: string[] = [];
    const { server, port } = await openServer(
      lines,
      outcome.startsWith('refused') ? { ...LIMITS, maxWorkers: 1 } : LIMITS,
    );
    const rng = new Rng(outcome.length);
    try {
      for (const kind of Object.keys(PROTOCOL_ERRORS)) {
        const bad = protocolError(kind, rng, 'client', MAX_PAYLOAD);
        const midFrame = outcome.startsWith('closed by the peer');
        const { reached, conns } = await drive(port, (c) => {
          if (!midFrame) return void c.sock.write(bad.bytes);
          c.sock.end(bad.bytes.subarray(0, Math.max(1, bad.bytes.length >> 1))); // half a frame, then FIN
        });
        assert.ok(reached, `${outcome} was not reached (${kind})`);
        await new Promise((r) => setTimeout(r, 20)); // the server reads what we sent
        for (const c of conns) c.sock.destroy();
        await drained(server);
      }
      const link = await CoordinatorLink.open(`ws://127.0.0.1:${port}`);
      await link.hello({ token: TOKEN });
      assert.equal((await link.expect('welcome')).runId, 'r');
      link.close();
      await link.closed;
    } finally {
      await server.close();
    }
  });
}

test('closing the server does not wait for peers that never answer its close frames (refused ones included)', async () => {
  const { server, port } = await openServer([], { ...LIMITS, maxWorkers: 1 });
  const held = [await dialRaw(port, { localAddress: '127.0.0.18' })];
  await handshake(held[0]!, TOKEN);
  const refused = await dialRaw(port, { localAddress: '127.0.0.18' });
  assert.ok(await closeFrame(refused), 'refused'); // and we never answer it
  const t0 = Date.now();
  await server.close();
  assert.ok(Date.now() - t0 < 2000, `close took ${Date.now() - t0} ms`);
  for (const c of [...held, refused]) c.sock.destroy();
});

test("a flood of unfinished handshakes from a worker's own address (a co-tenant) does not keep the worker out", async () => {
  const { server, port } = await openServer([], { maxPending: 64, maxPendingPerAddress: 8, maxWorkers: 8 });
  let flooding = true;
  const flood = (async () => {
    const held: RawConn[] = [];
    while (flooding) {
      held.push(await dialRaw(port, { localAddress: '127.0.0.1' }));
      if (held.length > 16) held.shift()!.sock.destroy();
    }
    for (const c of held) c.sock.destroy();
  })();
  await new Promise((r) => setTimeout(r, 300)); // the address's share is full and churning
  const t0 = Date.now();
  let joined = false;
  for (let attempt = 0; attempt < 5 && !joined; attempt++) {
    // as a worker redials
    const link = await CoordinatorLink.open(`ws://127.0.0.1:${port}`);
    try {
      await link.hello({ token: TOKEN });
      joined = (await link.expect('welcome')).runId === 'r';
    } catch {
      /* pushed out before its hello: dial again */
    }
    link.close();
  }
  flooding = false;
  await flood;
  await server.close();
  assert.ok(joined, 'the worker never got in');
  assert.ok(Date.now() - t0 < 3000, `it took ${Date.now() - t0} ms`);
});
