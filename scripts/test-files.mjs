// The test files of each tier, as built under dist/ (one per line), for `npm run test:<tier>`:
//   unit         no processes, no root: run in parallel (the developer's loop)
//   integration  real sockets and child processes, run one file at a time
//   hosts        needs root: network namespaces, sshd, Slurm, Open MPI, Debian packages (chromium)
//   all          every file (what `npm test` runs)
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** Tests that need root or installed system services. */
const HOSTS = [
  'scripts/dist/test/integration/engines.test.js',
  'scripts/dist/test/integration/doctor-hosts.test.js',
  'scripts/dist/test/integration/tensorboard.test.js',
  'scripts/dist/test/integration/dashboard.test.js',
  'scripts/dist/test/integration/resnet-reference.test.js',
  'scripts/dist/test/integration/schedulers.test.js',
  'scripts/dist/test/integration/multihost.test.js',
  'scripts/dist/test/integration/cluster-relays.test.js',
  'scripts/dist/test/bench/scale.test.js',
  'scripts/dist/test/report/run-report.test.js',
];

/** Tests outside integration/ that start processes or train for real (they belong with the integration tier). */
const SPAWNING = [
  'packages/worker/dist/test/sched.test.js',
  'scripts/dist/test/bench/exchange.test.js',
  'scripts/dist/test/bench/floor.test.js',
  'scripts/dist/test/doctor/hosts.test.js',
  'packages/worker/dist/test/profile.test.js',
  'scripts/dist/test/processes/children.test.js',
  'scripts/dist/test/processes/local-workers.test.js',
  'scripts/dist/test/cli/experiment.test.js',
  'scripts/dist/test/cli/main.test.js',
  'scripts/dist/test/cli/refusals.test.js',
  'scripts/dist/test/cluster/ssh.test.js',
  'scripts/dist/test/workspace.test.js',
];

function tests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tests(join(dir, e.name)) : e.name.endsWith('.test.js') ? [join(dir, e.name)] : [],
  );
}

const roots = ['packages/common', 'packages/coordinator', 'packages/worker', 'scripts'].map((p) => join(p, 'dist/test'));
const all = roots.flatMap(tests).sort();
const integration = (f) => f.includes('/dist/test/integration/') || SPAWNING.includes(f);
const tier = {
  all: () => all,
  hosts: () => all.filter((f) => HOSTS.includes(f)),
  integration: () => all.filter((f) => integration(f) && !HOSTS.includes(f)),
  unit: () => all.filter((f) => !integration(f) && !HOSTS.includes(f)),
}[process.argv[2] ?? 'all'];
if (!tier) {
  process.stderr.write(`usage: node scripts/test-files.mjs unit|integration|hosts|all\n`);
  process.exit(2);
}
process.stdout.write(tier().join('\n') + '\n');
