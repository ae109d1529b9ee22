// Flags -> the request for one served run (runs/coordinator.ts): the config the training options give,
// the listening address and token, and which options were given (a resumed run applies some of them).

import type { ServerTls } from '@dtrain/coordinator';
import type { RunRequest } from '../runs/coordinator.js';
import { readConfigFile } from './config-file.js';
import { checkPort, checkSeconds, type TrainInput, toTrainConfig } from './options.js';
import { givenOptions } from './resume-options.js';

export type CoordinatorArgs = TrainInput & {
  host: string;
  port: number;
  token: string | undefined;
  tls?: ServerTls | undefined;
};

/** The request for a run served with these (already parsed) options. */
export function runRequest(a: CoordinatorArgs): RunRequest {
  return {
    config: toTrainConfig(a),
    given: givenHere(),
    out: a.out,
    resume: a.resume,
    overwrite: a.overwrite,
    dataDir: a.dataDir,
    host: a.host,
    port: a.port,
    token: a.token,
    tls: a.tls,
    waitTimeoutMs: checkSeconds(a.waitTimeout, '--wait-timeout') * 1000,
    ...(a.trace ? { trace: a.trace } : {}),
    ...(a.dashboardPort !== undefined
      ? { dashboard: { host: a.dashboardHost, port: checkPort(a.dashboardPort, '--dashboard-port') } }
      : {}),
  };
}

/** The options given to this process: its command line, DTRAIN_* variables and the keys of its --config file. */
export function givenHere(): Set<string> {
  return givenOptions(process.argv.slice(2), process.env, configKeysHere());
}

/** The keys of this process's --config file (none without one). */
export function configKeysHere(): string[] {
  const argv = process.argv.slice(2);
  const at = argv.findIndex((x) => x === '--config' || x.startsWith('--config='));
  const file = at < 0 ? undefined : argv[at]!.includes('=') ? argv[at]!.slice('--config='.length) : argv[at + 1];
  try {
    return file ? Object.keys(readConfigFile(file)) : []; // YAML or JSON, as main.ts read it
  } catch {
    return []; // main.ts already refused an unreadable --config
  }
}
