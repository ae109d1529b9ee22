// Hostfiles in the DeepSpeed / Horovod format: one host per line, "host slots=N" (N workers there;
// default 1), "#" comments and blank lines ignored. `user@host` and `host:port` pass through to ssh.

import { readFileSync } from 'node:fs';
import { TrainerError } from '@dtrain/common';

export interface HostSlots {
  host: string;
  slots: number;
}

export const MAX_SLOTS_PER_HOST = 256;

export function parseHostfile(text: string, name = 'hostfile'): HostSlots[] {
  const hosts: HostSlots[] = [];
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const where = `${name}:${i + 1}`;
    const m = /^([A-Za-z0-9_.@:[\]-]+)(?:\s+slots\s*=\s*(\d+))?$/.exec(line);
    if (!m) {
      throw new TrainerError('ERR_BAD_CONFIG', `${where}: "${line.slice(0, 120)}" is not "host slots=N"`, {
        hint: 'one host per line, e.g. "gpu01 slots=4" (slots: workers on that host; default 1)',
      });
    }
    const host = m[1]!;
    const slots = m[2] === undefined ? 1 : Number(m[2]);
    if (slots < 1 || slots > MAX_SLOTS_PER_HOST) {
      throw new TrainerError('ERR_BAD_CONFIG', `${where}: slots=${slots} for ${host} is out of range`, {
        hint: `use 1..${MAX_SLOTS_PER_HOST} (one worker per GPU)`,
      });
    }
    if (seen.has(host))
      throw new TrainerError('ERR_BAD_CONFIG', `${where}: ${host} is listed twice`, {
        hint: 'give each host one line with its total slots',
      });
    seen.add(host);
    hosts.push({ host, slots });
  });
  if (hosts.length === 0)
    throw new TrainerError('ERR_BAD_CONFIG', `${name} lists no host`, { hint: 'add lines such as "gpu01 slots=4"' });
  return hosts;
}

/** The hosts of the hostfile at `path` (`flag` names it in refusals). */
export function readHostfile(path: string, flag = '--hostfile'): HostSlots[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TrainerError('ERR_BAD_CONFIG', `${flag} ${path}: ${(e as Error).message}`, {
      hint: 'give a file with lines such as "gpu01 slots=4"',
    });
  }
  return parseHostfile(text, path);
}
