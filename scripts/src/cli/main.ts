// dtrain's command line: one file per command under cli/, option groups defined once (options.ts),
// argument types inferred from yargs. Bad values are refused before anything starts: a message, a
// hint, exit status 2, never a stack.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isTrainerError, TrainerError } from '@dtrain/common';
import type yargsType from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readConfigFile } from '../options/config-file.js';
import { givenOptions, kebab } from '../options/resume-options.js';
import { benchCommand } from './bench.js';
import { clusterCommand } from './cluster.js';
import { coordinatorCommand } from './coordinator.js';
import { dataCommand } from './data.js';
import { doctorCommand } from './doctor.js';
import { momentumCommand, sweepCommand } from './experiment.js';
import { launchCommand } from './launch.js';
import { evaluateCommand, exportCommand, predictCommand } from './model.js';
import { relayCommand } from './relay.js';
import { reportCommand } from './report.js';
import { workerCommand } from './worker.js';

// yargs' CommonJS build: its ESM build wraps help text every N characters, mid-word (its cliui shim has
// no word wrapping); the CommonJS one wraps at word boundaries (wrap-ansi).
const yargs = createRequire(import.meta.url)('yargs') as typeof yargsType;

const COMMANDS = [
  coordinatorCommand,
  workerCommand,
  launchCommand,
  clusterCommand,
  relayCommand,
  benchCommand,
  momentumCommand,
  sweepCommand,
  reportCommand,
  exportCommand,
  evaluateCommand,
  predictCommand,
  dataCommand,
  doctorCommand,
];

/** "0.1.0 (commit 1a2b3c4d5e6f)", from the build's version.json (scripts/write-version.mjs). */
export function versionText(): string {
  try {
    const v = JSON.parse(readFileSync(new URL('../../version.json', import.meta.url), 'utf8')) as {
      version?: string;
      commit?: string;
    };
    return `${v.version ?? '?'} (commit ${v.commit ?? 'unknown'})`;
  } catch {
    return 'unknown (no version.json: build with npm run build)';
  }
}

/** A --config file: a JSON object of options. yargs keeps only an error's message, so the hint goes into it. */
function loadConfigFile(path: string): Record<string, unknown> {
  try {
    return readConfigFile(path);
  } catch (e) {
    throw new Error(isTrainerError(e) ? e.describe() : String(e));
  }
}

/** The options described where parsing failed (yargs hands its usage object to .fail; empty if a later yargs changes that). */
function knownOptions(usage: unknown): string[] {
  return Object.keys((usage as { getDescriptions?: () => Record<string, unknown> }).getDescriptions?.() ?? {});
}

/** "did you mean --batch-size?" for a mistyped option, when one known option is close (edit distance <= 2). */
export function didYouMean(unknown: string, known: readonly string[]): string {
  const candidates = known.filter(
    (k) =>
      k.length > 1 &&
      !/[A-Z]/.test(k) &&
      editDistance(unknown, k) <= Math.max(1, Math.min(2, Math.floor(k.length / 3))),
  );
  const best = candidates.sort((a, b) => editDistance(unknown, a) - editDistance(unknown, b))[0];
  return best ? `did you mean --${best} (not --${unknown})?` : '';
}

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** Print an error for a person and exit: 2 for a TrainerError (bad input or config), 1 for a bug. */
export function fail(e: unknown): never {
  if (isTrainerError(e)) {
    process.stderr.write(`dtrain: ${e.code}: ${e.describe()}\n`);
    process.exit(2);
  }
  process.stderr.write(`dtrain: ${(e as Error | undefined)?.stack ?? String(e)}\n`);
  process.exit(1);
}

/** DTRAIN_* variables that are not options of the command being run (thrown out of yargs' fail handler). */
class EnvNotForThisCommand extends Error {
  constructor(readonly names: string[]) {
    super(`not options of this command: ${names.join(', ')}`);
  }
}

/** The environment variable of an option as yargs names it: fooBar or foo-bar -> DTRAIN_FOO_BAR. */
const envName = (key: string): string => `DTRAIN_${kebab(key).replace(/-/g, '_').toUpperCase()}`;

/**
 * The variables of unknown arguments that came only from the environment: one environment serves every dtrain
 * command and process (a launcher's DTRAIN_EPOCHS reaches its workers, which have no --epochs), so these are
 * ignored; an unknown flag beside them is then refused by itself. Null if there are none.
 */
function fromEnvironmentOnly(unknown: string[], argv: string[]): string[] | null {
  const flags = givenOptions(argv, {});
  const flagged = (k: string): boolean => flags.has(kebab(k)) || argv.some((a) => /^--?([^=]+)/.exec(a)?.[1] === k); // also -x and --fooBar as yargs names them
  const names = unknown.filter((k) => !flagged(k)).map(envName);
  const env = names.filter((n) => process.env[n] !== undefined);
  return env.length > 0 ? env : null;
}

export async function main(argv: string[] = hideBin(process.argv)): Promise<void> {
  try {
    await parse(argv);
  } catch (e) {
    if (!(e instanceof EnvNotForThisCommand)) throw e;
    for (const name of e.names) delete process.env[name]; // also kept from this command's children
    await parse(argv);
  }
}

async function parse(argv: string[]): Promise<void> {
  const root = yargs(argv)
    .scriptName('dtrain')
    .usage('$0 <command> [options]\n\nSynchronous data-parallel CNN training over WebSockets.');
  await COMMANDS.reduce((y, command) => command(y), root)
    .env('DTRAIN') // DTRAIN_BATCH_SIZE=128 is --batch-size 128; flags win over the environment, which wins over --config
    .option('cache', { type: 'string', hidden: true }) // $DTRAIN_CACHE (the cache root) must not be an unknown argument
    .config(
      'config',
      'options from a YAML or JSON file, keys as the long flags (batch-size: 128); flags and DTRAIN_* override it',
      loadConfigFile,
    )
    .demandCommand(
      1,
      'choose a command: coordinator, worker, launch, cluster, relay, experiment, sweep, report, export, evaluate, predict, data, bench or doctor',
    )
    .strict()
    .recommendCommands()
    .wrap(Math.min(120, process.stdout.columns ?? 100))
    .fail((msg, err, y) => {
      if (err?.name === 'YError') fail(new TrainerError('ERR_BAD_CONFIG', err.message)); // yargs' own (e.g. a --config file it could not load)
      if (err) fail(err);
      const unknown = /^Unknown arguments?: (.+)$/.exec(msg ?? '')?.[1]?.split(', ') ?? [];
      const envOnly = fromEnvironmentOnly(unknown, argv);
      if (envOnly) throw new EnvNotForThisCommand(envOnly);
      const guess = unknown.filter((a) => !/[A-Z]/.test(a)).map((a) => didYouMean(a, knownOptions(y)));
      process.stderr.write(
        `dtrain: ${msg}\n${guess.filter(Boolean).join('\n')}${guess.some(Boolean) ? '\n' : ''}(see dtrain <command> --help)\n`,
      );
      process.exit(2);
    })
    .version(versionText())
    .help()
    .parseAsync();
}
