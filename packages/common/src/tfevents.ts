// TensorBoard's event files, encoded: TFRecord framing (length, masked CRC-32C of the length, data, masked
// CRC-32C of the data) around tensorflow.Event protocol buffers: the file version, scalar summaries
// (Summary.Value.simple_value), a SessionLog START (TensorBoard drops the events after its step: a resume
// redoes them) and the hparams plugin's session_start_info (the run's hyperparameters). Field numbers are
// tensorflow/core/util/event.proto, framework/summary.proto and tensorboard/plugins/hparams/plugin_data.proto.
// Pure: bytes in, bytes out (coordinator/src/tensorboard.ts writes the file). A reader for the same framing
// checks what was written (tests; TensorBoard's own reader checks it too, see docs/outputs.md).

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli), as TFRecord uses it. */
export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function maskedCrc(bytes: Uint8Array): number {
  const c = crc32c(bytes);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: u64 length, masked CRC of those 8 bytes, the data, masked CRC of the data (little-endian). */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc(data), true);
  return out;
}

/** The records of a TFRecord file; throws on a bad CRC or a truncated record (a partial last write is dropped). */
export function readTfRecords(bytes: Uint8Array, allowPartialTail = true): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 12 > bytes.length) break;
    const len = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== maskedCrc(bytes.subarray(at, at + 8)))
      throw new Error(`bad length CRC at byte ${at}`);
    if (at + 16 + len > bytes.length) break;
    const data = bytes.subarray(at + 12, at + 12 + len);
    if (view.getUint32(at + 12 + len, true) !== maskedCrc(data)) throw new Error(`bad data CRC at byte ${at}`);
    out.push(data);
    at += 16 + len;
  }
  if (at < bytes.length && !allowPartialTail) throw new Error(`truncated record at byte ${at}`);
  return out;
}

/** A protocol-buffer message under construction: fields appended in order. */
class Proto {
  private readonly parts: number[] = [];

  private varint(v: number | bigint): void {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.parts.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.parts.push(Number(n));
  }

  int(field: number, v: number): this {
    this.varint(field << 3);
    this.varint(v);
    return this;
  }

  double(field: number, v: number): this {
    this.varint((field << 3) | 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.parts.push(...b);
    return this;
  }

  float(field: number, v: number): this {
    this.varint((field << 3) | 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(...b);
    return this;
  }

  bytes(field: number, v: Uint8Array | string): this {
    const b = typeof v === 'string' ? new TextEncoder().encode(v) : v;
    this.varint((field << 3) | 2);
    this.varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Event { wall_time = 1 (double, seconds); step = 2; ... } with one more field set by `fill`. */
function event(wallTimeMs: number, step: number, fill: (p: Proto) => void): Uint8Array {
  const p = new Proto().double(1, wallTimeMs / 1000).int(2, step);
  fill(p);
  return tfRecord(p.done());
}

/** The first record of every event file: Event.file_version = 3. */
export function fileVersionEvent(wallTimeMs: number): Uint8Array {
  return event(wallTimeMs, 0, (p) => p.bytes(3, 'brain.Event:2'));
}

/** Scalars at one step: Event.summary = 5 { value = 1 { tag = 1, simple_value = 2 } }. */
export function scalarsEvent(wallTimeMs: number, step: number, scalars: Record<string, number>): Uint8Array {
  const summary = new Proto();
  for (const [tag, v] of Object.entries(scalars)) {
    if (Number.isFinite(v)) summary.bytes(1, new Proto().bytes(1, tag).float(2, v).done());
  }
  return event(wallTimeMs, step, (p) => p.bytes(5, summary.done()));
}

/** Event.session_log = 7 { status = 1: START }: TensorBoard discards the events before it at `step` or later. */
export function sessionStartEvent(wallTimeMs: number, step: number): Uint8Array {
  return event(wallTimeMs, step, (p) => p.bytes(7, new Proto().int(1, 1).done()));
}

export type HParamValue = number | string | boolean;

/** google.protobuf.Value: number_value = 2 (double), string_value = 3, bool_value = 4. */
function protoValue(v: HParamValue): Uint8Array {
  const p = new Proto();
  if (typeof v === 'number') p.double(2, v);
  else if (typeof v === 'boolean') p.int(4, v ? 1 : 0);
  else p.bytes(3, v);
  return p.done();
}

/**
 * The hparams plugin's session start: a summary value tagged `_hparams_/session_start_info` whose
 * metadata.plugin_data { plugin_name = 1 "hparams", content = 2 HParamsPluginData { version = 1: 0,
 * session_start_info = 3 { hparams = 1 (map entries key = 1, value = 2), start_time_secs = 5 } } }.
 */
export function hparamsEvent(wallTimeMs: number, hparams: Record<string, HParamValue>): Uint8Array {
  const start = new Proto();
  for (const [k, v] of Object.entries(hparams)) start.bytes(1, new Proto().bytes(1, k).bytes(2, protoValue(v)).done());
  start.double(5, wallTimeMs / 1000);
  const content = new Proto().int(1, 0).bytes(3, start.done()).done();
  const metadata = new Proto().bytes(1, new Proto().bytes(1, 'hparams').bytes(2, content).done()).done();
  // Summary.Value { tag = 1, metadata = 9, tensor = 8 (an empty TensorProto: dtype DT_FLOAT = 1) }
  const value = new Proto()
    .bytes(1, '_hparams_/session_start_info')
    .bytes(9, metadata)
    .bytes(8, new Proto().int(1, 1).done());
  return event(wallTimeMs, 0, (p) => p.bytes(5, new Proto().bytes(1, value.done()).done()));
}
