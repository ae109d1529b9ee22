// A host server's mesh against its peers: parts of its slice are joined along the tree and go up once
// whole; a peer that sends a part of another slice, of the wrong length or of another tree is refused.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, parseWorkerMsg, type WorkerMsg } from '@dtrain/common';
import { CoordinatorLink } from '@dtrain/worker/link';
import { HostMesh } from '../src/host-mesh.js';
import { tinyRun } from './fixtures.js';

const RUN = tinyRun(4);

/** What the mesh sends up, decoded as the coordinator would. */
const fakeUplink = (up: WorkerMsg[]) =>
  ({
    send: (m: WorkerMsg) => void up.push(m),
    sendFrame: (b: Uint8Array) =>
      void up.push(parseWorkerMsg(decode(b, 1 << 20), { paramCount: 4, trainSize: 0, evalSize: 0 })),
  }) as unknown as CoordinatorLink;

/** A mesh of one owner (this host: no links to dial) and a peer joined to its mesh server. */
async function meshAndPeer(token: string | undefined) {
  const up: WorkerMsg[] = [];
  const mesh = new HostMesh(
    { host: '127.0.0.1', port: 0, token, log: () => undefined },
    () => fakeUplink(up),
    () => {},
  );
  const port = await mesh.listen();
  mesh.setRun(RUN, 4);
  await mesh.form({ kind: 'mesh', epoch: 3, index: 0, owners: [`ws://127.0.0.1:${port}`], chunks: 1 });
  const peer = await CoordinatorLink.open(`ws://127.0.0.1:${port}`);
  await peer.join({ token, name: 'peer' });
  return { mesh, peer, up, port };
}

const part = (o: object) => ({
  kind: 'part' as const,
  epoch: 3,
  step: 1,
  version: 0,
  index: 0,
  lo: 0,
  hi: 1,
  groups: 2,
  grad: Float32Array.of(1, 2, 3, 4),
  ...o,
});

test(
  "an owner joins its peers' parts along the tree and sends the slice up once it is whole",
  { timeout: 20_000 },
  async (t) => {
    const { mesh, peer, up } = await meshAndPeer('tok');
    t.after(() => (peer.close(), mesh.close())); // also when an assertion fails: no server left open
    assert.deepEqual(up, [{ kind: 'meshReady', epoch: 3 }]);
    peer.send(part({ lo: 1, hi: 2, grad: Float32Array.of(10, 20, 30, 40) }));
    peer.send(part({ lo: 1, hi: 2, grad: Float32Array.of(99, 99, 99, 99) })); // a repeat: dropped
    peer.send(part({ epoch: 2 })); // an earlier mesh's: dropped
    peer.send(part({}));
    for (let i = 0; i < 50 && up.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(up.length, 2);
    const s = up[1]!;
    assert.equal(s.kind, 'slice');
    assert.deepEqual(s.kind === 'slice' && [...s.grad], [11, 22, 33, 44]);
  },
);

test(
  'a peer sending a part of another slice, of the wrong length or of another tree is refused',
  { timeout: 20_000 },
  async (t) => {
    for (const bad of [part({ index: 1 }), part({ grad: Float32Array.of(1) }), part({ step: 2, groups: 3 })]) {
      const { mesh, peer, up } = await meshAndPeer(undefined);
      t.after(() => mesh.close());
      if (bad.step === 2) peer.send(part({ step: 2 })); // the step's tree has 2 groups; then one says 3
      peer.send(bad);
      const closed = await peer.closed;
      assert.equal(closed.code, 1008, JSON.stringify({ ...bad, grad: [...bad.grad] }));
      assert.equal(up.filter((m) => m.kind === 'slice').length, 0);
    }
  },
);

test('a peer without the job token does not get in', { timeout: 20_000 }, async (t) => {
  const up: WorkerMsg[] = [];
  const mesh = new HostMesh(
    { host: '127.0.0.1', port: 0, token: 'tok', log: () => undefined },
    () => fakeUplink(up),
    () => {},
  );
  t.after(() => mesh.close());
  const port = await mesh.listen();
  mesh.setRun(RUN, 4);
  const peer = await CoordinatorLink.open(`ws://127.0.0.1:${port}`);
  await assert.rejects(peer.join({ token: 'wrong', name: 'stranger' }));
});
