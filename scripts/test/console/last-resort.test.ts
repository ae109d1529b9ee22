import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { crash, guardOutput, saveOnCrash } from '../../src/console/last-resort.js';

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
const fakeExit = (code: number): never => {
  throw new Exit(code);
};

test('a crash runs the registered saver once and exits 1; an unregistered saver is not run', () => {
  const saved: unknown[] = [];
  const unsave = saveOnCrash((e) => (saved.push(e), 'kept'));
  unsave();
  const again = saveOnCrash((e) => (saved.push(e), 'kept'));
  assert.throws(
    () => crash(new Error('bug'), 'test', fakeExit),
    (e: unknown) => e instanceof Exit && e.code === 1,
  );
  assert.equal(saved.length, 1);
  assert.throws(
    () => crash(new Error('while saving'), 'test', fakeExit),
    (e: unknown) => e instanceof Exit && e.code === 1,
  ); // a second crash: exit at once
  assert.equal(saved.length, 1);
  again();
});

test('an output stream that fails (EPIPE) is closed quietly; writes after it do not throw', () => {
  const out = new PassThrough() as unknown as NodeJS.WriteStream;
  guardOutput([out]);
  out.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  assert.equal(out.destroyed, true);
  assert.doesNotThrow(() => out.write('more\n'));
});
