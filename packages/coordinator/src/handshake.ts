// The coordinator's side of the handshake, as checks that either pass or throw the error that closes the
// connection: the hello (protocol, and with a token the proof over the whole transcript, which yields the
// session), and the worker's ready (its model and dataset fingerprints must be the run's).

import {
  checkTokenProof,
  DATA_PREP_TIMEOUT_MS,
  type HelloMsg,
  handshakeTranscript,
  PROTOCOL_VERSION,
  type ReadyMsg,
  SessionCipher,
  sessionKey,
  TrainerError,
  type WelcomeMsg,
} from '@dtrain/common';

/** Check a hello against our challenge (`nonce`, and whether a token is asked for); the sealed session when there is a token. */
export function acceptHello(hello: HelloMsg, nonce: string, token: string | undefined): SessionCipher | null {
  if (hello.protocol !== PROTOCOL_VERSION) {
    throw new TrainerError(
      'ERR_PROTOCOL_VERSION',
      `worker speaks protocol ${hello.protocol}, coordinator ${PROTOCOL_VERSION}`,
      {
        hint: 'run the same dtrain version on coordinator and workers',
      },
    );
  }
  if (!token) return null;
  const transcript = handshakeTranscript({ protocol: PROTOCOL_VERSION, nonce, auth: true }, hello);
  if (!checkTokenProof(token, transcript, hello.mac)) {
    throw new TrainerError(
      'ERR_AUTH_FAILED',
      'token proof does not match (a wrong token, or a hello changed on the path)',
      {
        hint: "pass the coordinator's --token (or DTRAIN_TOKEN) to the worker",
      },
    );
  }
  return new SessionCipher(sessionKey(token, transcript), 'coordinator');
}

/** The worker built the run's model and data: both fingerprints must be the run's. */
export function checkReady(msg: ReadyMsg, welcome: Pick<WelcomeMsg, 'modelFingerprint' | 'datasetFingerprint'>): void {
  if (msg.modelFingerprint !== welcome.modelFingerprint) {
    throw new TrainerError(
      'ERR_MODEL_MISMATCH',
      `worker model fingerprint ${msg.modelFingerprint} differs from ${welcome.modelFingerprint}`,
      {
        hint: 'run the same dtrain version on coordinator and workers',
      },
    );
  }
  if (msg.datasetFingerprint !== welcome.datasetFingerprint) {
    throw new TrainerError(
      'ERR_DATASET_MISMATCH',
      `worker dataset fingerprint ${msg.datasetFingerprint} differs from ${welcome.datasetFingerprint}`,
      {
        hint: 'give every worker the same dataset files (--data-dir) and dtrain version',
      },
    );
  }
}

/**
 * The deadlines of a connection's handshake: until its hello `handshakeMs`; after the welcome the worker
 * may be fetching the dataset, so DATA_PREP_TIMEOUT_MS until its ready. Returns the function that stops them.
 */
export function handshakeDeadlines(
  conn: { state: string },
  handshakeMs: number,
  reject: (err: TrainerError) => void,
): () => void {
  const late = (what: string) => new TrainerError('ERR_UNEXPECTED_MESSAGE', what);
  let timer = setTimeout(() => {
    if (conn.state === 'challenged') reject(late(`handshake not finished within ${handshakeMs} ms`));
    else if (conn.state === 'welcomed') {
      timer = setTimeout(() => {
        if (conn.state === 'welcomed') reject(late(`not ready within ${DATA_PREP_TIMEOUT_MS / 1000} s of the welcome`));
      }, DATA_PREP_TIMEOUT_MS);
    }
  }, handshakeMs);
  return () => clearTimeout(timer);
}
