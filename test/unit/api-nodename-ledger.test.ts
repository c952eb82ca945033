// A pod created with spec.nodeName set goes through the node's allocation ledger like a binding
// (DESIGN.md invariant 4; docs/decisions/0005-no-overcommit-binding.md): it is counted when it fits,
// refused with 409 `does not fit on node` when it does not, and creates racing bindings for a node's
// last room leave exactly one winner.

import test from 'ava';
import { ApiClient, isConflict, LocalApiTransport, NODES, PODS, type KubeObject } from '../../src/client/index.js';
import { decodeLedger, ledgerKey } from '../../src/scheduler/allocation-ledger.js';
import { ADMIN, testApi, type TestApi } from './api-helpers.js';

async function addNode(client: ApiClient, name: string, cpu: string): Promise<void> {
  await client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name } });
  await client.patch(NODES, undefined, name, { status: { allocatable: { cpu, memory: '64Gi', pods: '110' }, capacity: { cpu, memory: '64Gi', pods: '110' } } }, 'merge', 'status');
}

function pod(name: string, cpu: string, nodeName?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { ...(nodeName === undefined ? {} : { nodeName }), containers: [{ name: 'c', image: 'i', resources: { requests: { cpu, memory: '64Mi' } } }] },
  };
}

async function ledgerOf(api: TestApi, node: string): Promise<ReadonlyMap<string, { readonly uid: string; readonly cpuMillis: number }>> {
  const read = await api.store.range({ key: ledgerKey(node) });
  return decodeLedger(read.kvs[0]?.value);
}

function setup(): Promise<{ api: TestApi; client: ApiClient }> {
  return testApi().then((api) => ({ api, client: new ApiClient(new LocalApiTransport(api.handler, ADMIN)) }));
}

test('a pod created on a node where it fits is stored and counted in the node ledger', async (t) => {
  const { api, client } = await setup();
  await addNode(client, 'n1', '1');
  const created = await client.create(PODS, 'default', pod('ds-1', '600m', 'n1'));
  const uid = (created['metadata'] as { uid: string }).uid;
  t.is(((await client.get(PODS, 'default', 'ds-1'))['spec'] as { nodeName: string }).nodeName, 'n1');
  t.like((await ledgerOf(api, 'n1')).get('default/ds-1'), { uid, cpuMillis: 600 });
  // A binding for more than the remaining 400m is now refused: the created pod holds its room.
  await client.create(PODS, 'default', pod('p', '500m'));
  const refused = await t.throwsAsync(client.bind('default', 'p', 'n1'));
  t.true(isConflict(refused), String(refused));
});

test('a pod created on a node where it does not fit is refused with 409 and not stored', async (t) => {
  const { api, client } = await setup();
  await addNode(client, 'n1', '1');
  await client.create(PODS, 'default', pod('a', '600m', 'n1'));
  const refused = await t.throwsAsync(client.create(PODS, 'default', pod('b', '600m', 'n1')));
  t.true(isConflict(refused), String(refused));
  t.regex(String(refused), /pod b does not fit on node "n1": Insufficient cpu/);
  t.false((await ledgerOf(api, 'n1')).has('default/b'));
  await t.throwsAsync(client.get(PODS, 'default', 'b'));
  // Once the first pod is gone its room is free again (lazy release, as for bindings).
  await client.delete(PODS, 'default', 'a', { gracePeriodSeconds: 0 });
  await client.create(PODS, 'default', pod('b', '600m', 'n1'));
  t.deepEqual([...(await ledgerOf(api, 'n1')).keys()], ['default/b']);
});

test('a second create of the same name is AlreadyExists, not a second ledger entry', async (t) => {
  const { api, client } = await setup();
  await addNode(client, 'n1', '4');
  const first = await client.create(PODS, 'default', pod('x', '100m', 'n1'));
  const again = await t.throwsAsync(client.create(PODS, 'default', pod('x', '100m', 'n1')));
  t.regex(String(again), /already exists/);
  t.is((await ledgerOf(api, 'n1')).get('default/x')?.uid, (first['metadata'] as { uid: string }).uid);
});

test('creates with spec.nodeName racing bindings for the last slot: exactly one wins', async (t) => {
  for (let round = 0; round < 5; round++) {
    const { api, client } = await setup();
    await addNode(client, 'n1', '1');
    await client.create(PODS, 'default', pod('resident', '500m', 'n1'));
    for (let i = 0; i < 4; i++) await client.create(PODS, 'default', pod(`bind-${i}`, '500m'));
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      writes.push(client.bind('default', `bind-${i}`, 'n1'));
      writes.push(client.create(PODS, 'default', pod(`created-${i}`, '500m', 'n1')));
    }
    const outcomes = await Promise.allSettled(writes);
    t.is(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, 1, `round ${round}: exactly one write takes the last 500m`);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') t.true(isConflict(outcome.reason) && /does not fit on node "n1"/.test(String(outcome.reason)), String(outcome.reason));
    }
    const ledger = await ledgerOf(api, 'n1');
    t.is(ledger.size, 2, `round ${round}: the resident pod and the winner`);
    t.is([...ledger.values()].reduce((sum, entry) => sum + entry.cpuMillis, 0), 1000);
  }
});
