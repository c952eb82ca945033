// batch/v1 through the in-process API pipeline: Job and CronJob defaults (the generated selector from
// the uid), validation with field paths, immutability on update, discovery, and their Tables.

import test from 'ava';
import { toTable } from '../../src/api/tables.js';
import { defaultRegistry } from '../../src/api/registry/index.js';
import type { JsonObject } from '../../src/api/registry/types.js';
import { testApi } from './api-helpers.js';

const JOBS = '/apis/batch/v1/namespaces/default/jobs';
const CRONJOBS = '/apis/batch/v1/namespaces/default/cronjobs';

function job(name: string, spec: JsonObject = {}, template: JsonObject = {}): JsonObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['true'] }], ...template } }, ...spec },
  };
}

interface Status {
  code?: number;
  details?: { causes?: { field: string; message: string }[] };
}
const causeFields = (body: unknown): string[] => ((body as Status).details?.causes ?? []).map((cause) => cause.field);

test('a Job gets Kubernetes defaults and a selector generated from its uid', async (t) => {
  const api = await testApi();
  const created = await api.call('POST', JOBS, job('pi'));
  t.is(created.status, 201, JSON.stringify(created.body));
  const body = created.body as { metadata: { uid: string }; spec: JsonObject & { selector: JsonObject; template: { metadata: { labels: Record<string, string> }; spec: JsonObject } } };
  const uid = body.metadata.uid;
  t.truthy(uid);
  t.like(body.spec, { parallelism: 1, completions: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false, podReplacementPolicy: 'TerminatingOrFailed' });
  t.deepEqual(body.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
  t.deepEqual(body.spec.template.metadata.labels, {
    'batch.kubernetes.io/controller-uid': uid,
    'batch.kubernetes.io/job-name': 'pi',
    'controller-uid': uid,
    'job-name': 'pi',
  });
  t.is(body.spec.template.spec['dnsPolicy'], 'ClusterFirst', 'the pod template is defaulted');
  t.deepEqual((created.body as { metadata: { labels: Record<string, string> } }).metadata.labels, body.spec.template.metadata.labels, 'a Job without labels gets its template labels');
  const stored = await api.call('GET', `${JOBS}/pi`);
  t.is((stored.body as { metadata: { uid: string } }).metadata.uid, uid, 'the stored uid is the one the selector names');
});

test('a Job with only parallelism keeps completions unset (a work queue)', async (t) => {
  const api = await testApi();
  const created = await api.call('POST', JOBS, job('queue', { parallelism: 3 }));
  t.is(created.status, 201);
  const spec = (created.body as { spec: JsonObject }).spec;
  t.is(spec['parallelism'], 3);
  t.is(spec['completions'], undefined);
});

test('Job validation: restartPolicy Never or OnFailure, a manual selector must match, Indexed needs completions', async (t) => {
  const api = await testApi();
  const always = await api.call('POST', JOBS, job('always', {}, { restartPolicy: 'Always' }));
  t.is(always.status, 422);
  t.deepEqual(causeFields(always.body), ['spec.template.spec.restartPolicy']);
  const unset = await api.call('POST', JOBS, { ...job('unset'), spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } } });
  t.is(unset.status, 422, 'the pod default Always is not allowed');
  t.deepEqual(causeFields(unset.body), ['spec.template.spec.restartPolicy']);
  const manualMismatch = await api.call('POST', JOBS, job('manual', { manualSelector: true, selector: { matchLabels: { app: 'x' } } }));
  t.is(manualMismatch.status, 422);
  t.deepEqual(causeFields(manualMismatch.body), ['spec.template.metadata.labels']);
  const manualOk = await api.call('POST', JOBS, {
    ...job('manual-ok'),
    spec: { manualSelector: true, selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } },
  });
  t.is(manualOk.status, 201, JSON.stringify(manualOk.body));
  t.deepEqual((manualOk.body as { spec: { selector: JsonObject } }).spec.selector, { matchLabels: { app: 'x' } }, 'no generated label with manualSelector');
  const wrongSelector = await api.call('POST', JOBS, job('wrong', { selector: { matchLabels: { app: 'x' } } }));
  t.is(wrongSelector.status, 422);
  t.true(causeFields(wrongSelector.body).includes('spec.selector'), JSON.stringify(wrongSelector.body));
  const indexed = await api.call('POST', JOBS, job('indexed', { completionMode: 'Indexed', parallelism: 2 }));
  t.is(indexed.status, 422);
  t.deepEqual(causeFields(indexed.body), ['spec.completions']);
  const badMode = await api.call('POST', JOBS, job('mode', { completionMode: 'Sometimes' }));
  t.is(badMode.status, 422);
  t.deepEqual(causeFields(badMode.body), ['spec.completionMode']);
  const negative = await api.call('POST', JOBS, job('negative', { backoffLimit: -1 }));
  t.deepEqual(causeFields(negative.body), ['spec.backoffLimit']);
});

test('a Job update may change parallelism and suspend but not the selector, template or completions', async (t) => {
  const api = await testApi();
  t.is((await api.call('POST', JOBS, job('pi', { completions: 3 }))).status, 201);
  const merge = { 'content-type': 'application/merge-patch+json' };
  const scaled = await api.call('PATCH', `${JOBS}/pi`, { spec: { parallelism: 2, suspend: true } }, merge);
  t.is(scaled.status, 200, JSON.stringify(scaled.body));
  const completions = await api.call('PATCH', `${JOBS}/pi`, { spec: { completions: 5 } }, merge);
  t.is(completions.status, 422);
  t.deepEqual(causeFields(completions.body), ['spec.completions']);
  const image = await api.call('PATCH', `${JOBS}/pi`, { spec: { template: { spec: { containers: [{ name: 'main', image: 'alpine' }] } } } }, merge);
  t.is(image.status, 422);
  t.deepEqual(causeFields(image.body), ['spec.template']);
  const selector = await api.call('PATCH', `${JOBS}/pi`, { spec: { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'other' } } } }, merge);
  t.is(selector.status, 422);
  t.true(causeFields(selector.body).includes('spec.selector'));
  const status = await api.call('PATCH', `${JOBS}/pi/status`, { status: { active: 1, startTime: '2026-01-01T00:00:00Z' } }, merge);
  t.is(status.status, 200, 'the status subresource takes the controller writes');
  t.like((status.body as { status: JsonObject }).status, { active: 1 });
});

test('a CronJob gets defaults; schedule, concurrencyPolicy and the job template are checked', async (t) => {
  const api = await testApi();
  const cronJob = (name: string, spec: JsonObject): JsonObject => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: { schedule: '*/1 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } } }, ...spec },
  });
  const created = await api.call('POST', CRONJOBS, cronJob('tick', {}));
  t.is(created.status, 201, JSON.stringify(created.body));
  t.like((created.body as { spec: JsonObject }).spec, { concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
  const noSchedule = await api.call('POST', CRONJOBS, cronJob('none', { schedule: '' }));
  t.is(noSchedule.status, 422);
  t.deepEqual(causeFields(noSchedule.body), ['spec.schedule']);
  const fourFields = await api.call('POST', CRONJOBS, cronJob('four', { schedule: '* * * *' }));
  t.deepEqual(causeFields(fourFields.body), ['spec.schedule']);
  const policy = await api.call('POST', CRONJOBS, cronJob('policy', { concurrencyPolicy: 'Sometimes' }));
  t.deepEqual(causeFields(policy.body), ['spec.concurrencyPolicy']);
  const restart = await api.call('POST', CRONJOBS, cronJob('restart', { jobTemplate: { spec: { template: { spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'busybox' }] } } } } }));
  t.deepEqual(causeFields(restart.body), ['spec.jobTemplate.spec.template.spec.restartPolicy']);
  const long = await api.call('POST', CRONJOBS, cronJob('a'.repeat(53), {}));
  t.deepEqual(causeFields(long.body), ['metadata.name']);
});

test('discovery serves batch/v1 with jobs, cronjobs (cj) and their status subresources', async (t) => {
  const api = await testApi();
  const list = await api.call('GET', '/apis/batch/v1');
  const resources = (list.body as { resources: { name: string; shortNames?: string[]; categories?: string[] }[] }).resources;
  t.deepEqual(resources.map((resource) => resource.name).sort(), ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status']);
  t.deepEqual(resources.find((resource) => resource.name === 'cronjobs')?.shortNames, ['cj']);
  t.deepEqual(resources.find((resource) => resource.name === 'jobs')?.categories, ['all']);
});

test('jobs and cronjobs print kubectl 1.32 columns', (t) => {
  const registry = defaultRegistry();
  const now = Date.parse('2026-01-01T01:00:00Z');
  const created = '2026-01-01T00:00:00Z';
  const rowOf = (plural: string, object: JsonObject): { columns: string[]; cells: unknown[] } => {
    const definition = registry.lookup('batch', 'v1', plural);
    if (definition === undefined) throw new Error(`no ${plural}`);
    const table = toTable(definition, { metadata: { name: 'x', creationTimestamp: created }, ...object }, { nowMs: now }) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    return { columns: table.columnDefinitions.map((column) => column.name), cells: table.rows[0]?.cells ?? [] };
  };
  const template = { spec: { containers: [{ name: 'pi', image: 'perl' }] } };
  t.deepEqual(
    rowOf('jobs', { spec: { completions: 3, parallelism: 2, selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } }, template }, status: { succeeded: 3, startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:00:42Z', conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: 'Complete', status: 'True' }] } }),
    { columns: ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers', 'Images', 'Selector'], cells: ['x', 'Complete', '3/3', '42s', '60m', 'pi', 'perl', 'batch.kubernetes.io/controller-uid=u1'] },
  );
  t.deepEqual(rowOf('jobs', { spec: { parallelism: 4, template }, status: { startTime: '2026-01-01T00:59:00Z' } }).cells.slice(0, 4), ['x', 'Running', '0/1 of 4', '60s']);
  t.deepEqual(rowOf('jobs', { spec: { completions: 1, template }, status: { failed: 7, conditions: [{ type: 'Failed', status: 'True' }] } }).cells.slice(0, 4), ['x', 'Failed', '0/1', '']);
  t.deepEqual(rowOf('jobs', { spec: { completions: 1, suspend: true, template }, status: { conditions: [{ type: 'Suspended', status: 'True' }] } }).cells[1], 'Suspended');
  t.deepEqual(
    rowOf('cronjobs', { spec: { schedule: '*/1 * * * *', suspend: false, jobTemplate: { spec: { template } } }, status: { active: [{ name: 'x-1' }], lastScheduleTime: '2026-01-01T00:59:30Z' } }),
    { columns: ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age', 'Containers', 'Images', 'Selector'], cells: ['x', '*/1 * * * *', '<none>', 'False', 1, '30s', '60m', 'pi', 'perl', '<none>'] },
  );
});

test('server-side apply of a Job twice keeps its generated selector and labels', async (t) => {
  const api = await testApi();
  const apply = { 'content-type': 'application/apply-patch+yaml' };
  const body = JSON.stringify(job('applied', { completions: 2 }));
  const first = await api.call('PATCH', `${JOBS}/applied?fieldManager=tester`, body, apply);
  t.is(first.status, 201, JSON.stringify(first.body));
  const uid = (first.body as { metadata: { uid: string } }).metadata.uid;
  const second = await api.call('PATCH', `${JOBS}/applied?fieldManager=tester`, JSON.stringify(job('applied', { completions: 2, parallelism: 2 })), apply);
  t.is(second.status, 200, JSON.stringify(second.body));
  const spec = (second.body as { spec: { parallelism: number; selector: JsonObject; template: { metadata: { labels: Record<string, string> } } } }).spec;
  t.is(spec.parallelism, 2);
  t.deepEqual(spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } });
  t.is(spec.template.metadata.labels['batch.kubernetes.io/controller-uid'], uid);
});
