// Preloaded with `node --import` into a dtrain process to inject a bug nothing catches: once
// DTRAIN_TEST_THROW_FILE holds DTRAIN_TEST_THROW_LINES step records (a run's metrics.jsonl; '' for: once
// the command is loaded - its last-resort handler installed - and a second has passed), a timer throws (on a
// loaded machine loading can take longer than a second: the fault must hit the command, not its loading).
// Only in the process whose command is DTRAIN_TEST_THROW_IN (not its worker children).
import { existsSync, readFileSync } from 'node:fs';

const command = process.env['DTRAIN_TEST_THROW_IN'];
if (command && process.argv[2] === command) {
  const file = process.env['DTRAIN_TEST_THROW_FILE'] ?? '';
  const lines = Number(process.env['DTRAIN_TEST_THROW_LINES'] ?? '0');
  const t0 = Date.now();
  const due = (): boolean =>
    file === ''
      ? process.listenerCount('uncaughtException') > 0 && Date.now() - t0 > 1000
      : existsSync(file) &&
        readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l.includes('"type":"step"')).length >= lines;
  const timer = setInterval(() => {
    if (!due()) return;
    clearInterval(timer);
    throw new Error('injected fault (a bug nothing caught)');
  }, 20);
}
