// `dtrain coordinator`: serve one training run on --host/--port and train once enough workers joined.

import type { Argv } from 'yargs';
import { checkPort, listenOptions, resolveToken, serveOptions } from '../options/options.js';
import { runRequest } from '../options/run-request.js';
import { serverTls } from '../options/secrets.js';
import { exitCodeFor, startCoordinator } from '../runs/coordinator.js';

export function coordinatorCommand(y: Argv): Argv {
  const options = (c: Argv) =>
    listenOptions(serveOptions(c), 'address to listen on')
      .example(
        'DTRAIN_TOKEN=$(openssl rand -hex 16) $0 coordinator --host 0.0.0.0 --workers 4 --out runs/c1',
        'serve a run for 4 workers on other hosts',
      )
      .example('$0 coordinator --resume runs/c1', 'continue it after a restart');
  return y.command('coordinator', 'serve a training run and train once --workers have joined', options, async (a) => {
    const started = await startCoordinator(
      runRequest({ ...a, port: checkPort(a.port), token: resolveToken(a.token, a.tokenFile), tls: serverTls(a) }),
    );
    process.exitCode = exitCodeFor(await started.finished);
  });
}
