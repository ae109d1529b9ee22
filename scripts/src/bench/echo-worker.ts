// A protocol-complete stand-in worker for exchange benchmarks: answers every assignment at once with a
// fixed random gradient of the right size (no tfjs), so only the coordinator and the wire are measured.

import WebSocket from 'ws';
import { decode, encode, MAX_CLIENT_FRAME_BYTES, PROTOCOL_VERSION, proveToken, Rng, type CoordinatorMsg } from '@dtrain/common';

export function runEchoWorker(url: string, token: string | undefined): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: MAX_CLIENT_FRAME_BYTES, generateMask: (m) => m.fill(0) });
    let grad = new Float32Array(0);
    ws.on('message', (d: Buffer) => {
      const m = decode(d, MAX_CLIENT_FRAME_BYTES) as CoordinatorMsg;
      switch (m.kind) {
        case 'challenge':
          ws.send(encode({ kind: 'hello', protocol: PROTOCOL_VERSION, mac: m.auth && token ? proveToken(token, m.nonce) : '', name: 'echo', host: 'bench', pid: process.pid, backend: 'none', backendReason: 'exchange benchmark' }));
          break;
        case 'welcome': {
          const n = m.manifest.reduce((a, p) => a + p.length, 0);
          const rng = new Rng(1);
          grad = Float32Array.from({ length: n }, () => rng.uniform(-1e-3, 1e-3));
          ws.send(encode({ kind: 'ready', modelFingerprint: m.modelFingerprint, datasetFingerprint: m.datasetFingerprint }));
          break;
        }
        case 'assign':
          ws.send(encode({ kind: 'gradient', step: m.step, version: m.version, shardId: m.shardId, count: m.indices.length, lossSum: m.indices.length, correct: 0, computeMs: 0, grad }));
          break;
        case 'evaluate':
          ws.send(encode({ kind: 'evalResult', evalId: m.evalId, shardId: m.shardId, count: m.indices.length, lossSum: m.indices.length, correct: 0, computeMs: 0 }));
          break;
        default:
          break;
      }
    });
    ws.on('close', () => resolve());
    ws.on('error', () => undefined);
  });
}
