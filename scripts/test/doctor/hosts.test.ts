import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { doctorHosts, type ProbeRunner, parseProbe } from '../../src/doctor/hosts.js';
import { CLI_PATH } from '../../src/processes/path.js';

/** "Hosts" that are this machine: the probe runs as a child process, as ssh would start it. */
const local: ProbeRunner = (host, args) =>
  new Promise((resolve, reject) => {
    if (host === 'down') return reject(new Error('ssh: connect to host down port 22: Connection refused'));
    const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => void (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}`))));
  });

test('doctor --hosts: each reachable host probes its link (round trip, goodput each way), then every mode is predicted', async () => {
  const lines: string[] = [];
  const links = await doctorHosts(
    {
      hosts: [
        { host: 'here', slots: 2 },
        { host: 'down', slots: 1 },
      ],
      model: 'reference-cnn',
      params: 122_570,
      advertise: '127.0.0.1',
      port: 0,
      probeBytes: 4 * 1024 * 1024,
      runner: local,
    },
    (l) => lines.push(l),
  );
  assert.equal(links.length, 1);
  const p = links[0]!.probe;
  assert.ok(p.rttMs > 0 && p.upMbitS > 10 && p.downMbitS > 10, JSON.stringify(p));
  assert.match(lines[0]!, /^here \(2 workers\): round trip [\d.]+ ms, up [\d.]+ Mbit\/s, down [\d.]+ Mbit\/s$/);
  assert.match(lines[1]!, /^down: no probe \(ssh: connect to host down port 22: Connection refused\); left out/);
  assert.match(
    lines[2]!,
    /communication per step for reference-cnn \(122,570 values\), 3 workers, compute not included/,
  );
  assert.equal(lines.filter((l) => /^ {2}(star|relays), (fp32|int8) both ways: [\d.]+ ms \(set by /.test(l)).length, 4);
});

test('a probe result is checked: not JSON, or missing a number, is refused', () => {
  assert.throws(() => parseProbe('bash: dtrain: command not found'), /not its result/);
  assert.throws(() => parseProbe('{"rttMs":1,"upMbitS":0,"downMbitS":5,"bytes":1}'), /incomplete/);
  assert.deepEqual(parseProbe('noise\n{"rttMs":1,"upMbitS":2,"downMbitS":3,"bytes":4}\n'), {
    rttMs: 1,
    upMbitS: 2,
    downMbitS: 3,
    bytes: 4,
  });
});
