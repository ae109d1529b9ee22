// A page in headless Chromium (Debian's package), driven over the DevTools protocol: navigate, then evaluate
// expressions in the live page (what a person would see, read from its DOM while it updates).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

export function chromiumPath(): string {
  if (process.env['CHROMIUM_PATH']) return process.env['CHROMIUM_PATH'];
  const r = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  const path = r.stdout.trim();
  assert.ok(
    path,
    'headless Chromium is needed: apt-get install chromium (scripts/ensure-chromium.sh), or set CHROMIUM_PATH',
  );
  return path;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class HeadlessPage {
  private id = 0;
  private readonly waiting = new Map<
    number,
    (v: { result?: { result?: { value?: unknown } }; error?: unknown }) => void
  >();

  private constructor(
    private readonly browser: ChildProcess,
    private readonly ws: WebSocket,
    private readonly dir: string,
  ) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { id?: number };
      if (m.id !== undefined) this.waiting.get(m.id)?.(m as never);
    });
  }

  /** Start Chromium and open `url` in its page. */
  static async open(url: string): Promise<HeadlessPage> {
    const dir = mkdtempSync(join(tmpdir(), 'chromium-'));
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'];
    const browser = spawn(
      chromiumPath(),
      [...args, '--remote-debugging-port=0', `--user-data-dir=${dir}`, 'about:blank'],
      {
        stdio: 'ignore',
      },
    );
    const portFile = join(dir, 'DevToolsActivePort');
    for (let i = 0; i < 300 && !existsSync(portFile); i++) await sleep(100);
    const port = readFileSync(portFile, 'utf8').split('\n')[0];
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const ws = new WebSocket(targets.find((t) => t.type === 'page')!.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const page = new HeadlessPage(browser, ws, dir);
    await page.send('Page.navigate', { url });
    return page;
  }

  private send(
    method: string,
    params: object,
  ): Promise<{ result?: { result?: { value?: unknown } }; error?: unknown }> {
    const id = ++this.id;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve) => this.waiting.set(id, resolve));
  }

  async evaluate<T>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true });
    return r.result?.result?.value as T;
  }

  /** Evaluate until `ok` holds for the value (every 100 ms, at most `ms`); the last value. */
  async until<T>(expression: string, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
    let v = await this.evaluate<T>(expression);
    for (const end = Date.now() + ms; !ok(v) && Date.now() < end; v = await this.evaluate<T>(expression))
      await sleep(100);
    return v;
  }

  async close(): Promise<void> {
    this.ws.close();
    const exited = new Promise((r) => this.browser.once('exit', r));
    this.browser.kill('SIGKILL');
    await exited;
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}
