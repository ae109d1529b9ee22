import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TrainerError } from '@dtrain/common';
import { coordinatorConnections, expandTasksPerNode, hostLayout, hostRelay } from '../../src/cluster/host-relays.js';

test("Slurm's tasks-per-node lists expand; malformed ones are refused", () => {
  assert.deepEqual(expandTasksPerNode('2(x3),1'), [2, 2, 2, 1]);
  assert.deepEqual(expandTasksPerNode('4'), [4]);
  for (const bad of ['', '2(x)', 'a', '0', '2(x0)', '2,,1'])
    assert.throws(
      () => expandTasksPerNode(bad),
      (e: unknown) => e instanceof TrainerError && e.code === 'ERR_BAD_CONFIG',
      bad,
    );
});

test('the layout comes from Slurm (SLURM_NODEID, SLURM_STEP_TASKS_PER_NODE) or from --node-index and --local-size, and must add up', () => {
  const env = { SLURM_NODEID: '2', SLURM_STEP_TASKS_PER_NODE: '1,4(x2)', SLURM_TASKS_PER_NODE: '8(x3)' };
  assert.deepEqual(hostLayout({}, env, 'slurm', 9)?.tasksPerNode, [1, 4, 4], "the step's list before the job's");
  assert.equal(hostLayout({}, env, 'slurm', 9)?.nodeIndex, 2);
  assert.deepEqual(
    hostLayout({ nodeIndex: 1, localSize: 4 }, {}, 'none', 10)?.tasksPerNode,
    [4, 4, 2],
    'equal nodes, the last one the rest',
  );
  assert.equal(hostLayout({}, env, 'mpi', 9), null, 'Open MPI says nothing about other nodes');
  assert.equal(hostLayout({ nodeIndex: 1 }, {}, 'none', 4), null, 'a node index alone is not a layout');
  assert.throws(() => hostLayout({}, env, 'slurm', 12), /does not match/);
  assert.throws(() => hostLayout({ nodeIndex: 5, localSize: 2 }, {}, 'none', 4), /does not match/);
});

test("worker ranks of a node with several ranks, except rank 0's node, share one relay; rank 0 waits for one connection per other node", () => {
  const layout = { nodeIndex: 1, tasksPerNode: [2, 3, 1], why: 'test' };
  assert.deepEqual(hostRelay(layout, 'worker', 0, 7071), {
    start: true,
    url: 'ws://127.0.0.1:7071',
    port: 7071,
    local: 3,
  });
  assert.equal(hostRelay(layout, 'worker', 2, 7071)?.start, false);
  assert.equal(hostRelay({ ...layout, nodeIndex: 0 }, 'worker', 1, 7071), null, "rank 0's node connects directly");
  assert.equal(hostRelay({ ...layout, nodeIndex: 2 }, 'worker', 0, 7071), null, 'one rank: no relay');
  assert.equal(hostRelay({ ...layout, nodeIndex: 0 }, 'coordinator', 0, 7071), null);
  assert.equal(
    coordinatorConnections(layout, false),
    1 + 2,
    'one worker beside rank 0, one connection from each other node',
  );
  assert.equal(coordinatorConnections(layout, true), 2 + 2);
});
