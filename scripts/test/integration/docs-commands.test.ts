// Every dtrain command written in README.md and docs/ names a command that exists and only options that
// command has (as its own --help lists them): the pages cannot drift from the CLI unnoticed. Commands in
// fenced blocks and in inline code are both checked; placeholders (<...>, FILE, ...) are values, not flags.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI_PATH } from '../../src/processes/path.js';

const ROOT = join(import.meta.dirname, '../../../..');
const PAGES = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => join('docs', f))];

export interface DocCommand {
  page: string;
  /** The words after `dtrain` up to the first option: the command, and its subcommand where it has one. */
  words: string[];
  flags: string[];
}

/** `dtrain ...` invocations in a page: fenced shell lines (continuations joined) and inline code spans. */
export function docCommands(page: string, text: string): DocCommand[] {
  const fenced = [...text.matchAll(/^```(?:sh|bash|shell)?\n([\s\S]*?)^```/gm)].map((m) => m[1]!.replace(/\\\n/g, ' '));
  const inline = [...text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  return [...fenced.flatMap((b) => b.split('\n')), ...inline].flatMap((line) => commandsIn(page, line));
}

function commandsIn(page: string, line: string): DocCommand[] {
  const code = line.replace(/\s#.*$/, '');
  return [...code.matchAll(/(?:^|[\s;&|(])dtrain\s+([a-z](?:[^;&|)]|\|(?=\S))*)/g)].map((m) => {
    const tokens = m[1]!.trim().split(/\s+/);
    const firstFlag = tokens.findIndex((t) => t.startsWith('-'));
    const words = (firstFlag < 0 ? tokens : tokens.slice(0, firstFlag)).filter((w) => /^[a-z][a-z0-9-|]*$/.test(w));
    const flags = tokens.filter((t) => /^--?[a-z]/.test(t)).map((t) => t.replace(/^--?/, '').replace(/=.*$/, ''));
    return { page, words, flags };
  });
}

const helps = new Map<string, string>();
function help(words: string[]): string {
  const key = words.join(' ');
  if (!helps.has(key)) {
    const r = spawnSync(process.execPath, [CLI_PATH, ...words, '--help'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `dtrain ${key} --help: ${r.stderr}`);
    helps.set(key, r.stdout);
  }
  return helps.get(key)!;
}

/** The commands the root help lists under Commands:, as words (`dtrain experiment momentum` -> [experiment, momentum]). */
function commandsOf(page: string): string[][] {
  const section = /^Commands:\n([\s\S]*?)(?:\n\n|(?![\s\S]))/m.exec(page)?.[1] ?? '';
  return [...section.matchAll(/^\s+dtrain ((?:[a-z][a-z0-9-]* ?)+)/gm)].map((m) => m[1]!.trim().split(' '));
}

/** Options a help page lists, with their aliases and --no- forms of booleans. */
function optionsOf(page: string): Set<string> {
  const names = [...page.matchAll(/(?:^|[\s,])--?([a-zA-Z][a-zA-Z0-9-]*)/gm)].map((m) => m[1]!);
  return new Set(names.flatMap((n) => [n, n.replace(/^no-/, ''), `no-${n}`]));
}

/** What is wrong with one documented command (empty when nothing is); `a|b` in a word stands for both. */
export function problems(c: DocCommand, helpOf: (words: string[]) => string): string[] {
  if (c.words.length === 0) return [];
  const commands = commandsOf(helpOf([]));
  const [first, second = ''] = c.words;
  const variants = second.includes('|') ? second.split('|').map((w) => [first!, w]) : [c.words];
  return variants.flatMap((words) => {
    const command = commands.find((cmd) => cmd.every((w, i) => words[i] === w));
    if (!command) {
      const near = commands.filter((cmd) => cmd[0] === first).map((cmd) => cmd.join(' '));
      return near.length > 0
        ? [`"${words.slice(0, 2).join(' ')}" is not a command (${near.join(', ')})`]
        : [`"${first}" is not a dtrain command`];
    }
    const known = optionsOf(helpOf(command));
    return c.flags.filter((f) => !known.has(f)).map((f) => `dtrain ${command.join(' ')} has no option --${f}`);
  });
}

test('the command extractor finds commands, their subcommands and flags, and skips prose and comments', () => {
  const text = [
    'dtrain falls back to wasm; run `dtrain bench compute|exchange --steps 5`.',
    '```sh',
    'dtrain launch --workers 2 \\',
    '  --epochs=1   # a comment with --not-a-flag',
    'cd x && dtrain report runs/a runs/b',
    '```',
  ].join('\n');
  assert.deepEqual(docCommands('p', text), [
    { page: 'p', words: ['launch'], flags: ['workers', 'epochs'] },
    { page: 'p', words: ['report'], flags: [] },
    { page: 'p', words: ['bench', 'compute|exchange'], flags: ['steps'] },
  ]);
});

test('a command that does not exist, a subcommand that does not and an unknown option are each caught', () => {
  const check = (line: string) => problems(docCommands('p', `\`${line}\``)[0]!, help);
  assert.deepEqual(check('dtrain launch --workers 2'), []);
  assert.match(check('dtrain lunch --workers 2')[0] ?? '', /"lunch" is not a dtrain command/);
  assert.match(check('dtrain experiment momentos')[0] ?? '', /"experiment momentos" is not a command/);
  assert.match(check('dtrain launch --wrokers 2')[0] ?? '', /dtrain launch has no option --wrokers/);
});

test('every dtrain command in README.md and docs/ exists with the options it is given', () => {
  const commands = PAGES.flatMap((p) => docCommands(p, readFileSync(join(ROOT, p), 'utf8')));
  assert.ok(commands.length >= 30, `only ${commands.length} commands found: is the extractor broken?`);
  const found = commands.flatMap((c) => problems(c, help).map((p) => `${c.page}: ${p}`));
  assert.deepEqual(found, []);
});
