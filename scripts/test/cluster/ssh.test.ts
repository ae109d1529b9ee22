import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { remoteCommand, shellQuote, sshArgv } from '../../src/cluster/ssh.js';

test('shellQuote: a POSIX shell reads back exactly the argument', () => {
  for (const arg of ['plain', 'with space', "it's", '$(rm -rf /)', '`x`', 'a"b', '', '--x=1']) {
    assert.equal(execFileSync('sh', ['-c', `printf %s ${shellQuote(arg)}`], { encoding: 'utf8' }), arg);
  }
});

test('the remote command reads the token from stdin and execs a worker that exits with its stdin', () => {
  const cmd = remoteCommand({
    host: 'me@gpu01',
    slot: 2,
    url: 'ws://10.0.0.1:7070',
    backend: 'auto',
    command: '/opt/dtrain/bin/dtrain',
  });
  assert.match(
    cmd,
    /^read -r DTRAIN_TOKEN && export DTRAIN_TOKEN && exec \/opt\/dtrain\/bin\/dtrain worker --connect ws:\/\/10\.0\.0\.1:7070 /,
  );
  assert.match(cmd, / --name gpu01-2 --gpu 2 /);
  assert.match(cmd, / --exit-with-stdin/);
  assert.doesNotMatch(cmd, /--token/);
});

test('ssh runs in BatchMode with keepalives; caller options follow; the host is after --', () => {
  const argv = sshArgv('gpu01', 'true', ['IdentityFile=/k']);
  assert.deepEqual(argv.slice(0, 2), ['-o', 'BatchMode=yes']);
  assert.ok(argv.includes('ServerAliveInterval=15') && argv.includes('IdentityFile=/k'));
  assert.deepEqual(argv.slice(-3), ['--', 'gpu01', 'true']);
});

test('a host of several slots gets one relay in front of them (with --exit-with-stdin), not one worker each', () => {
  const cmd = remoteCommand({
    host: 'gpu02',
    slot: 0,
    relayFor: 4,
    url: 'ws://10.0.0.1:7070',
    backend: 'auto',
    command: 'dtrain',
  });
  assert.match(
    cmd,
    /exec dtrain relay --connect ws:\/\/10\.0\.0\.1:7070 --name gpu02-relay --local 4 .*--exit-with-stdin/,
  );
  assert.doesNotMatch(cmd, / worker /);
});
