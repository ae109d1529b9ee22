// The HTTP(S) layer under the coordinator's WebSocket server: header and request timeouts (slowloris),
// TLS with optional client certificates, every TCP socket tracked so that closing leaves none behind, and
// the warning for a listener that anyone who reaches it may join.

import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { isLoopback, UPGRADE_HEADERS_TIMEOUT_MS } from '@dtrain/common';

/** PEM contents of the coordinator's certificate (chain) and key, and optionally the CA of client certificates. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  clientCa?: Buffer;
}

/** Plain HTTP, or HTTPS with the given certificate (client certificates required when a client CA is set); sockets go into `sockets` while open. */
export function createHttpServer(
  tls: ServerTls | undefined,
  sockets: Set<Socket>,
  log: (line: string) => void,
): Server {
  const limits = {
    headersTimeout: UPGRADE_HEADERS_TIMEOUT_MS,
    requestTimeout: 2 * UPGRADE_HEADERS_TIMEOUT_MS,
    connectionsCheckingInterval: 1000,
  };
  const clientAuth = tls?.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {};
  const server = tls
    ? createHttpsServer({ ...limits, cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2', ...clientAuth })
    : createServer(limits);
  if (tls)
    server.on('tlsClientError', (e, socket) =>
      log(`TLS handshake with ${socket.remoteAddress ?? '?'} failed: ${e.message}`),
    );
  server.setTimeout(UPGRADE_HEADERS_TIMEOUT_MS); // a socket that sends nothing; ws lifts it (setTimeout(0)) on upgrade
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return server;
}

/** The warning for a listener beyond loopback that neither a token nor client certificates close (null if none is due). */
export function openListenerWarning(host: string, port: number, authenticated: boolean): string | null {
  if (authenticated || isLoopback(host)) return null;
  return (
    `warning: listening on ${host} without a token: anyone who can reach port ${port} can join this run and read its weights; ` +
    'set DTRAIN_TOKEN (or --token-file) on the coordinator and its workers'
  );
}
