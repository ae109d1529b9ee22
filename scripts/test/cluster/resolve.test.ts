import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainerError } from '@dtrain/common';
import { type ClusterFlags, resolveCluster } from '../../src/cluster/resolve.js';

const flags = (f: Partial<ClusterFlags> = {}): ClusterFlags => ({ port: 7070, coordinatorWorker: false, ...f });
const SLURM = {
  SLURM_PROCID: '2',
  SLURM_NTASKS: '5',
  SLURM_LOCALID: '1',
  SLURM_STEP_ID: '0',
  SLURM_STEP_NODELIST: 'gpu[03-04,07]',
};

test('Slurm: rank, size, local rank and the coordinator on the first host of the step', () => {
  const p = resolveCluster(flags(), SLURM);
  assert.equal(p.scheduler, 'slurm');
  assert.deepEqual([p.rank, p.worldSize, p.localRank, p.role, p.url], [2, 5, 1, 'worker', 'ws://gpu03:7070']);
  assert.equal(p.cudaVisibleDevices, '1');
  assert.ok(p.why.some((l) => l.includes('SLURM_PROCID=2') && l.includes('SLURM_NTASKS=5')));
  assert.ok(p.why.some((l) => l.includes('first host of SLURM_STEP_NODELIST')));
});

test('Slurm rank 0 coordinates and waits for the other ranks (plus itself with --coordinator-worker)', () => {
  const env = { ...SLURM, SLURM_PROCID: '0', SLURM_LOCALID: '0' };
  assert.deepEqual([resolveCluster(flags(), env).role, resolveCluster(flags(), env).workers], ['coordinator', 4]);
  assert.equal(resolveCluster(flags({ coordinatorWorker: true }), env).workers, 5);
  assert.equal(resolveCluster(flags(), env).cudaVisibleDevices, null); // no worker on rank 0
});

test('explicit flags win over the scheduler, field by field', () => {
  const p = resolveCluster(flags({ rank: 1, coordinator: '10.0.0.1:9000', workers: 3 }), SLURM);
  assert.deepEqual([p.rank, p.worldSize, p.url], [1, 5, 'ws://10.0.0.1:9000']);
  assert.equal(resolveCluster(flags({ role: 'coordinator', workers: 3 }), SLURM).role, 'coordinator');
});

test('a GPU the scheduler already bound is left alone', () => {
  assert.equal(resolveCluster(flags(), { ...SLURM, CUDA_VISIBLE_DEVICES: '5' }).cudaVisibleDevices, null);
});

test('Open MPI: ranks from OMPI_COMM_WORLD_*; one host means loopback, several need the coordinator named', () => {
  const one = {
    OMPI_COMM_WORLD_RANK: '1',
    OMPI_COMM_WORLD_SIZE: '3',
    OMPI_COMM_WORLD_LOCAL_RANK: '1',
    OMPI_COMM_WORLD_LOCAL_SIZE: '3',
  };
  const p = resolveCluster(flags(), one);
  assert.deepEqual([p.scheduler, p.rank, p.worldSize, p.url], ['mpi', 1, 3, 'ws://127.0.0.1:7070']);
  const spread = { ...one, OMPI_COMM_WORLD_LOCAL_SIZE: '1' };
  assert.throws(
    () => resolveCluster(flags(), spread),
    (e: unknown) => e instanceof TrainerError && /DTRAIN_COORDINATOR/.test(e.hint ?? ''),
  );
  assert.equal(resolveCluster(flags({ coordinator: 'node1' }), spread).url, 'ws://node1:7070');
});

test('Kubernetes: JOB_COMPLETION_INDEX is the rank; workers need the coordinator address, the coordinator --workers', () => {
  const env = { JOB_COMPLETION_INDEX: '3' };
  assert.throws(() => resolveCluster(flags(), env), /cannot tell where the coordinator runs/);
  const w = resolveCluster(flags({ coordinator: 'dtrain-coordinator-0-0.dtrain', role: 'worker' }), {
    JOB_COMPLETION_INDEX: '0',
  });
  assert.deepEqual(
    [w.scheduler, w.role, w.url, w.cudaVisibleDevices],
    ['kubernetes', 'worker', 'ws://dtrain-coordinator-0-0.dtrain:7070', '0'],
  );
  assert.throws(() => resolveCluster(flags({ role: 'coordinator', coordinator: 'x' }), env), /how many workers/);
});

test('bad scheduler values and impossible worlds are refused', () => {
  assert.throws(() => resolveCluster(flags(), { ...SLURM, SLURM_PROCID: 'x' }), /SLURM_PROCID="x"/);
  assert.throws(() => resolveCluster(flags({ rank: 5 }), SLURM), /rank 5 is not below the world size 5/);
  assert.throws(() => resolveCluster(flags({ worldSize: 1 }), {}), /leaves no worker/);
});

test('no scheduler: flags only, this host', () => {
  const p = resolveCluster(flags({ worldSize: 3 }), {});
  assert.deepEqual([p.scheduler, p.role, p.workers, p.url], ['none', 'coordinator', 2, 'ws://127.0.0.1:7070']);
  assert.equal(resolveCluster(flags({ coordinator: '::1', role: 'worker' }), {}).url, 'ws://[::1]:7070');
});

test(
  "Slurm across nodes: rank 0 waits for one connection per other node; a node's " +
    'local rank 0 starts its relay, the others join; --no-relays as before',
  () => {
    const layout = {
      SLURM_NTASKS: '7',
      SLURM_STEP_ID: '0',
      SLURM_STEP_NODELIST: 'gpu[1-3]',
      SLURM_STEP_TASKS_PER_NODE: '3,2,2',
    };
    const rank0 = resolveCluster(flags(), { ...layout, SLURM_PROCID: '0', SLURM_LOCALID: '0', SLURM_NODEID: '0' });
    assert.equal(rank0.workers, 2 + 2, 'two workers beside rank 0, one relay from each of the 2 other nodes');
    assert.ok(
      rank0.why.some((l) => /waits for 4 connection\(s\)/.test(l)),
      rank0.why.join('\n'),
    );
    const starts = resolveCluster(flags(), { ...layout, SLURM_PROCID: '3', SLURM_LOCALID: '0', SLURM_NODEID: '1' });
    assert.deepEqual(starts.relay, { start: true, url: 'ws://127.0.0.1:7071', port: 7071, local: 2 });
    assert.equal(starts.url, 'ws://gpu1:7070', 'the relay dials rank 0');
    const joins = resolveCluster(flags({ relayPort: 9001 }), {
      ...layout,
      SLURM_PROCID: '4',
      SLURM_LOCALID: '1',
      SLURM_NODEID: '1',
    });
    assert.deepEqual([joins.relay?.start, joins.relay?.url], [false, 'ws://127.0.0.1:9001']);
    assert.equal(
      resolveCluster(flags(), { ...layout, SLURM_PROCID: '1', SLURM_LOCALID: '1', SLURM_NODEID: '0' }).relay,
      null,
      "rank 0's node",
    );
    const off = { ...layout, SLURM_PROCID: '0', SLURM_LOCALID: '0', SLURM_NODEID: '0' };
    assert.equal(resolveCluster(flags({ relays: false }), off).workers, 6, '--no-relays: world size - 1');
    assert.equal(
      resolveCluster(flags({ relays: false }), { ...layout, SLURM_PROCID: '3', SLURM_LOCALID: '0', SLURM_NODEID: '1' })
        .relay,
      null,
    );
  },
);

test('GPUs per node: 2 nodes x 5 tasks with 4 GPUs each; rank 0 only coordinates, so node 1 uses GPUs 0-3 (it used 1-4)', () => {
  const gpuOf = (rank: number, extra: Record<string, string> = {}) => {
    const [node, local] = [Math.floor(rank / 5), rank % 5];
    const env = {
      SLURM_PROCID: String(rank),
      SLURM_NTASKS: '10',
      SLURM_LOCALID: String(local),
      SLURM_NODEID: String(node),
      SLURM_STEP_ID: '0',
      SLURM_STEP_NODELIST: 'gpu[01-02]',
      SLURM_STEP_TASKS_PER_NODE: '5(x2)',
      SLURM_GPUS_ON_NODE: '4',
      ...extra,
    };
    return resolveCluster(flags(), env);
  };
  assert.deepEqual(
    [1, 2, 3, 4].map((r) => gpuOf(r).cudaVisibleDevices),
    ['0', '1', '2', '3'],
  );
  assert.deepEqual(
    [5, 6, 7, 8, 9].map((r) => gpuOf(r).cudaVisibleDevices),
    ['0', '1', '2', '3', '0'],
  );
  assert.ok(
    gpuOf(9).why.some((l) =>
      /CUDA_VISIBLE_DEVICES=0 \(local rank 4, wrapped around SLURM_GPUS_ON_NODE=4: this GPU is shared/.test(l),
    ),
  );
  assert.ok(
    gpuOf(1).why.some((l) =>
      /CUDA_VISIBLE_DEVICES=0 \(local rank 1 - 1: rank 0 on this node only coordinates\)/.test(l),
    ),
  );
  // with --coordinator-worker rank 0 trains on GPU 0 and the others keep their local rank
  const withWorker = (rank: number) =>
    resolveCluster(flags({ coordinatorWorker: true }), {
      SLURM_PROCID: String(rank),
      SLURM_NTASKS: '10',
      SLURM_LOCALID: String(rank % 5),
      SLURM_NODEID: String(Math.floor(rank / 5)),
      SLURM_STEP_ID: '0',
      SLURM_STEP_NODELIST: 'gpu[01-02]',
      SLURM_STEP_TASKS_PER_NODE: '5(x2)',
    }).cudaVisibleDevices;
  assert.deepEqual([0, 1, 4, 5].map(withWorker), ['0', '1', '4', '0']);
});
