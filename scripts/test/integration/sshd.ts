// A real OpenSSH server inside each harness host, with keys made for the test (nothing of the machine's
// own ssh setup is read or changed): what `dtrain launch --hostfile` meets on a cluster.

import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Host, NetHarness } from '../../src/bench/netns.js';

export interface SshSetup {
  /** ssh -o options for the launcher: the test's key, no known_hosts. */
  options: string[];
}

export function startSshd(net: NetHarness, hosts: Host[], dir: string): SshSetup {
  mkdirSync(dir, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true }); // privilege separation directory
  const key = join(dir, 'id_ed25519');
  const hostKey = join(dir, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('cp', [`${key}.pub`, join(dir, 'authorized_keys')]);
  for (const h of hosts) {
    const config = join(dir, `sshd-${h.name}.conf`);
    writeFileSync(
      config,
      [
        `ListenAddress ${h.ip}`,
        'Port 22',
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        `PidFile ${join(dir, `sshd-${h.name}.pid`)}`,
        `SetEnv PATH=${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
        'LogLevel ERROR',
      ].join('\n') + '\n',
    );
    net.spawn(h, ['/usr/sbin/sshd', '-D', '-e', '-f', config]);
  }
  return {
    options: [`IdentityFile=${key}`, 'UserKnownHostsFile=/dev/null', 'StrictHostKeyChecking=no', 'LogLevel=ERROR'],
  };
}
