// A worker's end of one connection, as a typed message stream: send a WorkerMsg, receive the next
// CoordinatorMsg, validated by parseCoordinatorMsg (never a cast). For stand-in workers (the exchange
// benchmark's echo worker) and tests; the real worker (client.ts) adds reconnects and the trainer.
// Subpath @dtrain/worker/link: no tfjs is loaded.

import {
  answerChallenge,
  type CoordinatorMsg,
  decode,
  encode,
  frameCount,
  MAX_CLIENT_FRAME_BYTES,
  missingFrames,
  type ParseContext,
  paramCount,
  parseCoordinatorMsg,
  type SessionCipher,
  TrainerError,
  type WorkerMsg,
} from '@dtrain/common';
import WebSocket from 'ws';
import { HANDSHAKE_PAYLOAD_BYTES, setMaxPayload } from './frame-limit.js';

export { RefusalJudge } from './refusal.js';

/** Index bounds a link checks before it knows the dataset (types and sizes are still checked). */
const ANY_INDEX = 2 ** 32 - 1;

export interface Closed {
  code: number;
  reason: string;
}

export class CoordinatorLink {
  /** Grows at the welcome: weights and gradients are then checked against the model's size. */
  private ctx: ParseContext = { paramCount: 0, trainSize: ANY_INDEX, evalSize: ANY_INDEX };
  private readonly inbox: (CoordinatorMsg | Error)[] = [];
  private readonly waiters: ((m: CoordinatorMsg | Error | null) => void)[] = [];
  private ended = false;
  private session: SessionCipher | null = null;
  /** Sealed frames that arrived (checked against the coordinator's pings). */
  private sealedIn = 0;
  readonly closed: Promise<Closed>;

  private constructor(readonly ws: WebSocket) {
    ws.binaryType = 'nodebuffer';
    ws.on('message', (d: Buffer) => this.push(this.parse(d)));
    ws.on('ping', (count: Buffer) => {
      // the coordinator's count of sealed frames: fewer arrived means one was dropped
      const missing = this.session ? missingFrames(count, this.sealedIn) : 0;
      if (missing > 0)
        this.push(
          new TrainerError('ERR_AUTH_FAILED', `${missing} sealed frame(s) from the coordinator were lost on the way`),
        );
    });
    ws.on('error', () => undefined); // 'close' follows
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.ended = true;
        for (const w of this.waiters.splice(0)) w(null);
        resolve({ code, reason: reason.toString() });
      }),
    );
  }

  /** Connect to `url`; resolves once the socket is open. */
  static open(url: string): Promise<CoordinatorLink> {
    const ws = new WebSocket(url, {
      maxPayload: HANDSHAKE_PAYLOAD_BYTES,
      perMessageDeflate: false,
      generateMask: (m) => m.fill(0),
    });
    const link = new CoordinatorLink(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(link));
      ws.once('error', reject);
    });
  }

  /** The next message (null once the connection closed); a frame that fails validation rejects. */
  async next(): Promise<CoordinatorMsg | null> {
    const m =
      this.inbox.shift() ??
      (this.ended ? null : await new Promise<CoordinatorMsg | Error | null>((r) => this.waiters.push(r)));
    if (m instanceof Error) throw m;
    return m;
  }

  /** The next message, which must be of `kind`. */
  async expect<K extends CoordinatorMsg['kind']>(kind: K): Promise<Extract<CoordinatorMsg, { kind: K }>> {
    const m = await this.next();
    if (m?.kind !== kind) throw new Error(`expected "${kind}", got ${m ? `"${m.kind}"` : 'a closed connection'}`);
    return m as Extract<CoordinatorMsg, { kind: K }>;
  }

  send(msg: WorkerMsg): void {
    this.sendFrame(encode(msg));
  }

  /** An encoded message (a compressed gradient, codec.ts), sealed and counted as send() does. */
  sendFrame(frame: Uint8Array): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(this.session ? this.session.seal(frame) : frame);
    if (this.session) this.ws.ping(frameCount(this.session.sealed));
  }

  /** Send bytes no correct worker sends (tests and fuzzers); `sealed`: inside the session, as an insider would. */
  sendRaw(data: Uint8Array | string, sealed = false): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (sealed && this.session && typeof data !== 'string') this.ws.send(this.session.seal(data));
    else this.ws.send(data);
  }

  /** Challenge -> hello (with the token's proof; then a sealed session) -> welcome -> ready. Resolves with the welcome. */
  async join(
    o: { token?: string | undefined; name?: string } = {},
  ): Promise<Extract<CoordinatorMsg, { kind: 'welcome' }>> {
    await this.hello(o);
    const welcome = await this.expect('welcome');
    this.send({
      kind: 'ready',
      modelFingerprint: welcome.modelFingerprint,
      datasetFingerprint: welcome.datasetFingerprint,
    });
    return welcome;
  }

  /** Answer the challenge: the proof of `token` if asked for one (then every later frame is sealed). */
  async hello(
    o: {
      token?: string | undefined;
      name?: string;
      host?: string;
      backend?: string;
      backendReason?: string;
      slots?: number;
      /** A host server's mesh port (sharded summation). */
      mesh?: number;
    } = {},
  ): Promise<void> {
    const { hello, session } = answerChallenge(await this.expect('challenge'), o.token, {
      name: o.name ?? 'link',
      host: o.host ?? 'link',
      pid: process.pid,
      backend: o.backend ?? 'none',
      backendReason: o.backendReason ?? 'protocol link',
      ...(o.slots === undefined ? {} : { slots: o.slots }),
      ...(o.mesh === undefined ? {} : { mesh: o.mesh }),
    });
    this.send(hello);
    this.session = session;
  }

  close(): void {
    this.ws.close();
  }

  private parse(d: Buffer): CoordinatorMsg | Error {
    try {
      if (this.session) this.sealedIn++;
      const m = parseCoordinatorMsg(decode(this.session ? this.session.open(d) : d, MAX_CLIENT_FRAME_BYTES), this.ctx);
      if (m.kind === 'welcome') {
        this.ctx = { ...this.ctx, paramCount: paramCount(m.manifest), maxShard: m.maxShard };
        setMaxPayload(this.ws, MAX_CLIENT_FRAME_BYTES); // a handshake frame until here
      }
      return m;
    } catch (e) {
      return e as Error;
    }
  }

  private push(m: CoordinatorMsg | Error): void {
    const w = this.waiters.shift();
    if (w) w(m);
    else this.inbox.push(m);
  }
}
