// Server-side Tables: columns and cells per kind, the AGE format, includeObject, paging metadata,
// and one-row Tables as watch events, through the in-process API pipeline.

import test from 'ava';
import { humanDuration, toTable } from '../../src/api/tables.js';
import { defaultRegistry } from '../../src/api/registry/index.js';
import type { JsonObject } from '../../src/api/registry/types.js';
import type { ObjectWatchEvent } from '../../src/api/storage/watch.js';
import { testApi } from './api-helpers.js';

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const tableHeaders = { accept: TABLE_ACCEPT };

interface Table {
  kind: string;
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions?: { name: string; priority: number }[];
  rows: { cells: unknown[]; object?: JsonObject }[];
}

const columnNames = (table: Table, priority = 0): string[] => (table.columnDefinitions ?? []).filter((column) => column.priority === priority).map((column) => column.name);

test('AGE follows Kubernetes HumanDuration', (t) => {
  const second = 1000;
  const cases: [number, string][] = [
    [-5 * second, '<invalid>'],
    [0, '0s'],
    [119 * second, '119s'],
    [120 * second, '2m'],
    [125 * second, '2m5s'],
    [45 * 60 * second, '45m'],
    [3.5 * 3600 * second, '3h30m'],
    [20 * 3600 * second, '20h'],
    [3 * 86400 * second + 3600 * second, '3d1h'],
    [30 * 86400 * second, '30d'],
    [800 * 86400 * second, '2y70d'],
  ];
  for (const [durationMs, expected] of cases) t.is(humanDuration(durationMs), expected, `${durationMs}ms`);
});

test('pods: NAME READY STATUS RESTARTS AGE, and the wide columns at priority 1', async (t) => {
  const api = await testApi();
  const created = await api.call('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'p1', labels: { app: 'web' } }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'y' }], nodeName: 'n1' } });
  t.is(created.status, 201);
  await api.call('PUT', '/api/v1/namespaces/default/pods/p1/status', {
    ...(created.body as JsonObject),
    status: {
      phase: 'Running',
      podIP: '10.0.0.5',
      containerStatuses: [
        { name: 'a', ready: true, restartCount: 2, state: { running: {} } },
        { name: 'b', ready: false, restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } } },
      ],
    },
  });
  const response = await api.call('GET', '/api/v1/namespaces/default/pods?limit=500', undefined, tableHeaders);
  const table = response.body as Table;
  t.is(table.kind, 'Table');
  t.deepEqual(columnNames(table), ['Name', 'Ready', 'Status', 'Restarts', 'Age']);
  t.deepEqual(columnNames(table, 1), ['IP', 'Node', 'Nominated Node', 'Readiness Gates']);
  t.is(table.rows.length, 1);
  t.deepEqual(table.rows[0]?.cells.slice(0, 4), ['p1', '1/2', 'CrashLoopBackOff', '3']);
  t.regex(String(table.rows[0]?.cells[4]), /^\d+s$/);
  t.deepEqual(table.rows[0]?.cells.slice(5), ['10.0.0.5', 'n1', '<none>', '<none>']);
  t.like(table.rows[0]?.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'p1', labels: { app: 'web' } } });
  t.is(table.rows[0]?.object?.['spec'], undefined);
  t.truthy(table.metadata.resourceVersion);
  api.handler.close();
});

test('includeObject=Object carries the full object, None no object; a plain Accept gets the list', async (t) => {
  const api = await testApi();
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c1' }, data: { a: '1', b: '2' } });
  const full = (await api.call('GET', '/api/v1/namespaces/default/configmaps?includeObject=Object', undefined, tableHeaders)).body as Table;
  t.like(full.rows[0]?.object, { kind: 'ConfigMap', apiVersion: 'v1', data: { a: '1', b: '2' } });
  t.deepEqual(full.rows[0]?.cells.slice(0, 2), ['c1', 2]);
  const none = (await api.call('GET', '/api/v1/namespaces/default/configmaps?includeObject=None', undefined, tableHeaders)).body as Table;
  t.is(none.rows[0]?.object, undefined);
  const plain = (await api.call('GET', '/api/v1/namespaces/default/configmaps', undefined, { accept: 'application/json' })).body as JsonObject;
  t.is(plain['kind'], 'ConfigMapList');
  const one = (await api.call('GET', '/api/v1/namespaces/default/configmaps/c1', undefined, tableHeaders)).body as Table;
  t.is(one.kind, 'Table');
  t.is(one.rows.length, 1);
  api.handler.close();
});

test('paged lists keep continue in the Table metadata', async (t) => {
  const api = await testApi();
  for (const name of ['a', 'b', 'c']) await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name } });
  const first = (await api.call('GET', '/api/v1/namespaces/default/configmaps?limit=2', undefined, tableHeaders)).body as Table;
  t.is(first.rows.length, 2);
  t.truthy(first.metadata.continue);
  const second = (await api.call('GET', `/api/v1/namespaces/default/configmaps?limit=2&continue=${encodeURIComponent(first.metadata.continue ?? '')}`, undefined, tableHeaders)).body as Table;
  t.deepEqual(second.rows.map((row) => row.cells[0]), ['c']);
  t.is(second.metadata.continue, undefined);
  api.handler.close();
});

test('deployments, nodes, services, secrets and namespaces print kube columns', async (t) => {
  const registry = defaultRegistry();
  const now = Date.parse('2026-01-01T01:00:00Z');
  const created = '2026-01-01T00:00:00Z';
  const table = (group: string, plural: string, object: JsonObject, withWide = false): { cells: unknown[]; columns: string[] } => {
    const definition = registry.lookup(group, group === 'apps' ? 'v1' : 'v1', plural);
    if (definition === undefined) throw new Error(`no ${plural}`);
    const result = toTable(definition, { metadata: { name: 'x', creationTimestamp: created }, ...object }, { nowMs: now }) as unknown as Table;
    const columns = (result.columnDefinitions ?? []).filter((column) => withWide || column.priority === 0).map((column) => column.name);
    return { cells: (result.rows[0]?.cells ?? []).slice(0, columns.length), columns };
  };
  t.deepEqual(table('apps', 'deployments', { spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ name: 'c', image: 'nginx' }] } } }, status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 } }, true), {
    columns: ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector'],
    cells: ['x', '2/3', 3, 2, '60m', 'c', 'nginx', 'app=web'],
  });
  t.deepEqual(
    table('', 'nodes', {
      metadata: { name: 'x', creationTimestamp: created, labels: { 'node-role.kubernetes.io/control-plane': '' } },
      spec: { unschedulable: true },
      status: { conditions: [{ type: 'Ready', status: 'True' }], nodeInfo: { kubeletVersion: 'v1.32.0' } },
    }),
    { columns: ['Name', 'Status', 'Roles', 'Age', 'Version'], cells: ['x', 'Ready,SchedulingDisabled', 'control-plane', '60m', 'v1.32.0'] },
  );
  t.deepEqual(table('', 'services', { spec: { type: 'NodePort', clusterIP: '10.96.0.10', ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } }), {
    columns: ['Name', 'Type', 'Cluster-IP', 'External-IP', 'Port(s)', 'Age'],
    cells: ['x', 'NodePort', '10.96.0.10', '<none>', '80:30080/TCP,53/UDP', '60m'],
  });
  t.deepEqual(table('', 'secrets', { type: 'Opaque', data: { a: 'YQ==' } }), { columns: ['Name', 'Type', 'Data', 'Age'], cells: ['x', 'Opaque', 1, '60m'] });
  t.deepEqual(table('', 'namespaces', { status: { phase: 'Active' } }), { columns: ['Name', 'Status', 'Age'], cells: ['x', 'Active', '60m'] });
  t.deepEqual(table('', 'events', { type: 'Normal', reason: 'Scheduled', message: 'ok', involvedObject: { kind: 'Pod', name: 'p1' }, lastTimestamp: created }), {
    columns: ['Last Seen', 'Type', 'Reason', 'Object', 'Message'],
    cells: ['60m', 'Normal', 'Scheduled', 'pod/p1', 'ok'],
  });
  const definition = registry.lookup('', 'v1', 'configmaps');
  if (definition === undefined) throw new Error('no configmaps');
  const unknownKind = toTable({ ...definition, group: 'example.com', plural: 'widgets' }, { metadata: { name: 'w', creationTimestamp: created } }, { nowMs: now }) as unknown as Table;
  t.deepEqual(columnNames(unknownKind), ['Name', 'Age'], 'other kinds get NAME and AGE');
});

test('a watch with the Table Accept streams one-row Tables, column definitions first only', async (t) => {
  const api = await testApi();
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'w1' } });
  const list = (await api.call('GET', '/api/v1/namespaces/default/configmaps', undefined, tableHeaders)).body as Table;
  const response = await api.call('GET', `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${list.metadata.resourceVersion ?? ''}`, undefined, tableHeaders);
  if (!('watch' in response)) throw new Error('expected a watch');
  const events: ObjectWatchEvent[] = [];
  let notify: () => void = () => undefined;
  const running = await response.watch({
    event: (event) => {
      events.push(event);
      notify();
    },
    end: () => undefined,
  });
  const waitFor = (count: number): Promise<void> =>
    new Promise((resolve) => {
      notify = () => {
        if (events.length >= count) resolve();
      };
      notify();
    });
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'w2' }, data: { k: 'v' } });
  await api.call('DELETE', '/api/v1/namespaces/default/configmaps/w1');
  await waitFor(2);
  running.stop();
  const [added, deleted] = events as [ObjectWatchEvent, ObjectWatchEvent];
  t.is(added.type, 'ADDED');
  const addedTable = added.object as unknown as Table;
  t.is(addedTable.kind, 'Table');
  t.deepEqual(columnNames(addedTable), ['Name', 'Data', 'Age']);
  t.deepEqual(addedTable.rows[0]?.cells.slice(0, 2), ['w2', 1]);
  t.is(deleted.type, 'DELETED');
  const deletedTable = deleted.object as unknown as Table;
  t.is(deletedTable.columnDefinitions, undefined);
  t.is(deletedTable.rows[0]?.cells[0], 'w1');
  api.handler.close();
});
