import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decompress, encodeGradient, GRAD_BLOCK, GradientCompressor, type GradientMsg, Rng } from '@dtrain/common';
import { newConn, readFrame, receivePool } from '../src/conn.js';
import type { ServerWebSocket } from '../src/ws-conn.js';

function int8Frame(n: number): { frame: Buffer; sent: Float32Array } {
  const rng = new Rng(3);
  const g = Float32Array.from({ length: n }, () => rng.uniform(-1, 1));
  const wire = new GradientCompressor('int8').compress(g);
  const fields = { kind: 'gradient', step: 1, version: 0, shardId: 0, count: 4, lossSum: 1, correct: 0, computeMs: 1 };
  const frame = Buffer.from(encodeGradient(fields as never, wire));
  return { frame, sent: decompress(wire, new Float32Array(n)) };
}

test("an int8 gradient's float32 values land in room lent by the connection's pool, reused two rounds later", () => {
  const n = 5 * GRAD_BLOCK + 7;
  const pool = receivePool(true, { bytes: 1 << 30 });
  const conn = newConn(1, {} as ServerWebSocket, 'test', pool);
  conn.state = 'ready';
  const bounds = { maxParams: n, ctx: { paramCount: n, trainSize: 10, evalSize: 10 }, log: () => {} };
  const { frame, sent } = int8Frame(n);
  const first = readFrame(conn, frame, true, bounds) as GradientMsg;
  assert.deepEqual(first.grad, sent, "decompress's values");
  assert.equal(pool.out, 1, 'one buffer lent: the expanded values (the frame itself came unlent here)');
  assert.equal(pool.allocated, 1);
  pool.nextRound();
  const second = readFrame(conn, frame, true, bounds) as GradientMsg;
  assert.notEqual(second.grad.buffer, first.grad.buffer, 'the round before is still held');
  pool.nextRound();
  const third = readFrame(conn, frame, true, bounds) as GradientMsg;
  assert.equal(third.grad.buffer, first.grad.buffer, 'two rounds later: the first room again, no new buffer');
  assert.equal(pool.allocated, 2);
  assert.deepEqual(third.grad, sent);
});

test('a pool that lends nothing (a mesh server) leaves the values in a fresh array', () => {
  const n = 2 * GRAD_BLOCK;
  const pool = receivePool(false, { bytes: 1 << 30 });
  const conn = newConn(1, {} as ServerWebSocket, 'test', pool);
  conn.state = 'ready';
  const bounds = { maxParams: n, ctx: { paramCount: n, trainSize: 10, evalSize: 10 }, log: () => {} };
  const msg = readFrame(conn, int8Frame(n).frame, true, bounds) as GradientMsg;
  assert.equal(pool.out, 0);
  assert.equal(msg.grad.length, n);
});
