// A coordinator pings every HEARTBEAT_INTERVAL_MS. One silent for longer than that plus the pong deadline
// is behind a cut link (TCP would not notice for minutes): the connection is dropped and redialled, which
// a healed link then completes at once. One that answers pings but neither welcomes nor gives work for
// `idleMs` counts as gone.

import WebSocket from 'ws';

export interface Watch {
  silenceMs: number;
  idleMs: number;
  /** When the coordinator last welcomed us or gave us work (Date.now()). */
  lastWork: () => number;
  /** Called once before the connection is terminated: idle (pings but no work) or silent, and why. */
  gone: (idle: boolean, line: string) => void;
}

/** Terminate `ws` once its coordinator is silent or idle past the deadlines; clear the returned timer on close. */
export function watchCoordinator(ws: WebSocket, w: Watch): NodeJS.Timeout {
  let heard = Date.now();
  const hear = (): void => void (heard = Date.now());
  ws.on('ping', hear).on('message', hear).on('open', hear);
  const check = (): void => {
    if (ws.readyState !== WebSocket.OPEN) return;
    const silentS = Math.round((Date.now() - heard) / 1000);
    const idleS = Math.round((Date.now() - w.lastWork()) / 1000);
    if (Date.now() - heard > w.silenceMs) w.gone(false, `no word from the coordinator for ${silentS} s; reconnecting`);
    else if (Date.now() - w.lastWork() > w.idleMs)
      w.gone(
        true,
        `no welcome or work from the coordinator for ${idleS} s (pings alone do not count); treating it as gone`,
      );
    else return;
    ws.terminate();
  };
  const timer = setInterval(check, Math.min(1000, w.silenceMs / 2, w.idleMs / 2));
  timer.unref();
  return timer;
}
