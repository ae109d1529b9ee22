import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  crc32c,
  fileVersionEvent,
  hparamsEvent,
  readTfRecords,
  scalarsEvent,
  sessionStartEvent,
  tfRecord,
} from '@dtrain/common';

/** A minimal protocol-buffer reader: field number -> values (varints as bigint, fixed as bytes, length-delimited as bytes). */
function fields(b: Uint8Array): Map<number, (bigint | Uint8Array)[]> {
  const out = new Map<number, (bigint | Uint8Array)[]>();
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; ; shift += 7n) {
      const x = b[at++]!;
      v |= BigInt(x & 0x7f) << shift;
      if (x < 0x80) return v;
    }
  };
  while (at < b.length) {
    const key = Number(varint());
    const [field, wire] = [key >> 3, key & 7];
    let v: bigint | Uint8Array;
    if (wire === 0) v = varint();
    else if (wire === 1) v = b.slice(at, (at += 8));
    else if (wire === 5) v = b.slice(at, (at += 4));
    else {
      const n = Number(varint());
      v = b.slice(at, (at += n));
    }
    out.set(field, [...(out.get(field) ?? []), v]);
  }
  return out;
}
const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);
const f64 = (v: unknown) => new DataView((v as Uint8Array).buffer).getFloat64(0, true);
const f32 = (v: unknown) => new DataView((v as Uint8Array).buffer).getFloat32(0, true);

test('CRC-32C is the Castagnoli checksum (check value of "123456789": 0xE3069283)', () => {
  assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa); // RFC 3720 B.4: 32 bytes of zeros
});

test('TFRecord framing round-trips; a flipped bit is caught; a partial last record (a crash mid-write) is dropped', () => {
  const a = tfRecord(new Uint8Array([1, 2, 3]));
  const b = tfRecord(new TextEncoder().encode('hello'));
  const file = new Uint8Array([...a, ...b]);
  assert.deepEqual(
    readTfRecords(file).map((r) => [...r]),
    [
      [1, 2, 3],
      [104, 101, 108, 108, 111],
    ],
  );
  assert.equal(readTfRecords(file.subarray(0, file.length - 3)).length, 1);
  assert.throws(() => readTfRecords(file.subarray(0, file.length - 3), false), /truncated record/);
  const bad = file.slice();
  bad[13]! ^= 1;
  assert.throws(() => readTfRecords(bad), /bad data CRC/);
});

test('events: file version, scalars with their step and wall time, a session START, non-finite scalars left out', () => {
  const [version] = readTfRecords(fileVersionEvent(1_500));
  assert.equal(text(fields(version!).get(3)![0]), 'brain.Event:2');
  assert.equal(f64(fields(version!).get(1)![0]), 1.5);
  const [ev] = readTfRecords(scalarsEvent(2_000, 42, { 'train/loss': 0.25, 'val/accuracy': 0.5, bad: Number.NaN }));
  const e = fields(ev!);
  assert.equal(e.get(2)![0], 42n);
  const values = fields(e.get(5)![0] as Uint8Array)
    .get(1)!
    .map((v) => fields(v as Uint8Array));
  assert.deepEqual(
    values.map((v) => [text(v.get(1)![0]), f32(v.get(2)![0])]),
    [
      ['train/loss', 0.25],
      ['val/accuracy', 0.5],
    ],
  );
  const [start] = readTfRecords(sessionStartEvent(0, 7));
  assert.equal(fields(start!).get(2)![0], 7n);
  assert.equal(fields(fields(start!).get(7)![0] as Uint8Array).get(1)![0], 1n);
});

test('hparams: the session start info carries every value under the hparams plugin', () => {
  const [ev] = readTfRecords(hparamsEvent(3_000, { lr: 0.1, model: 'resnet20', augment: true }));
  const value = fields(fields(fields(ev!).get(5)![0] as Uint8Array).get(1)![0] as Uint8Array);
  assert.equal(text(value.get(1)![0]), '_hparams_/session_start_info');
  const plugin = fields(fields(value.get(9)![0] as Uint8Array).get(1)![0] as Uint8Array);
  assert.equal(text(plugin.get(1)![0]), 'hparams');
  const start = fields(fields(plugin.get(2)![0] as Uint8Array).get(3)![0] as Uint8Array);
  const entries = start.get(1)!.map((m) => fields(m as Uint8Array));
  const decoded = Object.fromEntries(
    entries.map((m) => {
      const v = fields(m.get(2)![0] as Uint8Array);
      return [text(m.get(1)![0]), v.has(2) ? f64(v.get(2)![0]) : v.has(3) ? text(v.get(3)![0]) : v.get(4)![0] === 1n];
    }),
  );
  assert.deepEqual(decoded, { lr: 0.1, model: 'resnet20', augment: true });
  assert.equal(f64(start.get(5)![0]), 3);
});
