// Secrets and certificates from files and the environment: the token (--token-file, $DTRAIN_TOKEN_FILE,
// $DTRAIN_TOKEN; --token works but shows in `ps`), and PEM files for TLS. Unreadable files are bad
// config (exit 2), named with the flag that gave them.

import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { TrainerError } from '@dtrain/common';
import type { ServerTls } from '@dtrain/coordinator';
import type { ClientTls } from '@dtrain/worker';
import type { Argv } from 'yargs';

export const TOKEN_ENV = 'DTRAIN_TOKEN';
export const TOKEN_FILE_ENV = 'DTRAIN_TOKEN_FILE';

function readFor(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} ${path}: ${(e as Error).message}`, {
      hint: `give ${flag} a readable file`,
    });
  }
}

/** --token, else --token-file / $DTRAIN_TOKEN_FILE (first line), else $DTRAIN_TOKEN, else none. */
export function resolveToken(flag: string | undefined, file?: string | undefined): string | undefined {
  const path = file ?? (process.env[TOKEN_FILE_ENV] || undefined);
  if (flag === undefined && path !== undefined) {
    const token = readFor(file ? '--token-file' : `$${TOKEN_FILE_ENV}`, path)
      .toString('utf8')
      .split('\n')[0]!
      .trim();
    if (!token)
      throw new TrainerError('ERR_BAD_CONFIG', `the token file ${path} is empty`, {
        hint: 'write the shared secret on its first line, e.g. openssl rand -hex 16 > FILE',
      });
    return token;
  }
  const onCommandLine = process.argv.some((a) => a === '--token' || a.startsWith('--token='));
  if (flag === '' && onCommandLine)
    throw new TrainerError('ERR_BAD_CONFIG', '--token is empty: the run would be open to anyone, not sealed', {
      hint: `give the shared secret (an unset variable expands to nothing), or use $${TOKEN_ENV} or --token-file`,
    });
  if (flag !== undefined && onCommandLine)
    process.stderr.write(
      `warning: --token is visible to other users of this host (ps); prefer $${TOKEN_ENV} or --token-file\n`,
    );
  return flag ?? (process.env[TOKEN_ENV] || undefined);
}

export function tokenOption<T>(y: Argv<T>) {
  return y
    .option('token', {
      type: 'string',
      describe: `shared secret: workers prove it and every frame is then sealed (visible in ps: prefer $${TOKEN_ENV} or --token-file)`,
      group: 'Security:',
    })
    .option('token-file', {
      type: 'string',
      describe: `read the token from the first line of this file (default: $${TOKEN_FILE_ENV})`,
      group: 'Security:',
    });
}

export function serverTlsOptions<T>(y: Argv<T>) {
  return y
    .option('tls-cert', {
      type: 'string',
      describe: 'serve wss:// with this certificate (PEM, chain included)',
      group: 'Security:',
    })
    .option('tls-key', { type: 'string', describe: "the certificate's private key (PEM)", group: 'Security:' })
    .option('tls-client-ca', {
      type: 'string',
      describe: 'require workers to present a certificate signed by this CA (PEM)',
      group: 'Security:',
    });
}

export function clientTlsOptions<T>(y: Argv<T>) {
  return y
    .option('tls-ca', {
      type: 'string',
      describe: "trust this CA (PEM) for the coordinator's wss:// certificate",
      group: 'Security:',
    })
    .option('tls-cert', {
      type: 'string',
      describe: 'client certificate (PEM) for a coordinator that requires one',
      group: 'Security:',
    })
    .option('tls-key', { type: 'string', describe: "the client certificate's private key (PEM)", group: 'Security:' });
}

/** The PEM files must make a TLS context (parse, and the key must be the certificate's), else bad config naming the flags. */
function checkPem<T extends { cert?: Buffer; key?: Buffer; ca?: Buffer }>(pem: T, flags: string): T {
  try {
    for (const [what, buf] of Object.entries(pem)) {
      if (!(buf as Buffer).includes('-----BEGIN '))
        throw new Error(`the ${what} file holds no PEM block (-----BEGIN ...)`);
    }
    createSecureContext(pem);
  } catch (e) {
    throw new TrainerError('ERR_BAD_CONFIG', `${flags}: ${(e as Error).message}`, {
      hint: 'give PEM files: a certificate (chain), the private key that belongs to it, and a CA certificate',
    });
  }
  return pem;
}

export function serverTls(a: {
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsClientCa?: string | undefined;
}): ServerTls | undefined {
  if (!a.tlsCert && !a.tlsKey) return undefined;
  if (!a.tlsCert || !a.tlsKey)
    throw new TrainerError('ERR_BAD_CONFIG', '--tls-cert and --tls-key go together', {
      hint: 'give both, or neither for plain ws://',
    });
  const tls = {
    cert: readFor('--tls-cert', a.tlsCert),
    key: readFor('--tls-key', a.tlsKey),
    ...(a.tlsClientCa ? { clientCa: readFor('--tls-client-ca', a.tlsClientCa) } : {}),
  };
  const flags = `--tls-cert ${a.tlsCert} / --tls-key ${a.tlsKey}${a.tlsClientCa ? ` / --tls-client-ca ${a.tlsClientCa}` : ''}`;
  checkPem({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa } : {}) }, flags);
  return tls;
}

export function clientTls(a: {
  tlsCa?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}): ClientTls | undefined {
  if (!a.tlsCa && !a.tlsCert && !a.tlsKey) return undefined;
  if (!a.tlsCert !== !a.tlsKey)
    throw new TrainerError('ERR_BAD_CONFIG', '--tls-cert and --tls-key go together', {
      hint: 'give both for a client certificate, or neither',
    });
  return checkPem(
    {
      ...(a.tlsCa ? { ca: readFor('--tls-ca', a.tlsCa) } : {}),
      ...(a.tlsCert ? { cert: readFor('--tls-cert', a.tlsCert) } : {}),
      ...(a.tlsKey ? { key: readFor('--tls-key', a.tlsKey) } : {}),
    },
    [a.tlsCa && `--tls-ca ${a.tlsCa}`, a.tlsCert && `--tls-cert ${a.tlsCert}`, a.tlsKey && `--tls-key ${a.tlsKey}`]
      .filter(Boolean)
      .join(' / '),
  );
}
