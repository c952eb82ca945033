// The CronJob controller against the real API pipeline, its time from a virtual clock stepped from one
// scheduled time to the next: Jobs at the right minutes (names, annotation, labels, owner), Forbid
// (the run waits for the active Job), Replace, Allow, suspend, startingDeadlineSeconds (MissSchedule),
// more than 100 missed runs (TooManyMissedTimes), history limits, a time zone and New York's
// daylight-saving changes (a repeated 01:30 runs twice, a skipped 02:30 never), a controller restarted
// between creating a Job and recording it (no second Job for that minute), and the API's validation
// of schedules and time zones.

import test from 'ava';
import { silentLogger } from '../../src/actors/index.js';
import { VirtualClock } from '../../src/actors/sim/virtual-clock.js';
import { ApiClient, CRONJOBS, EVENTS, JOBS, LocalApiTransport, metaOf, type ApiAnswer, type ApiCall, type ApiTransport, type KubeObject, type WatchStream, type WireWatchEvent } from '../../src/client/index.js';
import { CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, CronJobController, jobNameFor, zonedTimestamp } from '../../src/controllers/cronjob.js';
import { EventRecorder } from '../../src/controllers/machinery/event-recorder.js';
import { controllerRefOf, statusOf, timestampOf, uidOf } from '../../src/controllers/machinery/objects.js';
import { ControllerRunner } from '../../src/controllers/machinery/controller-runner.js';
import { RESYNC_PERIOD_MS_DEFAULT, SharedInformerFactory } from '../../src/controllers/machinery/informer-factory.js';
import { ADMIN, adminClient, eventually, sleep, testApi, type RunningControllers, type TestApi } from './controllers-helpers.js';

const MINUTE_MS = 60_000;

function cronJob(name: string, schedule: string, spec: KubeObject = {}): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name },
    spec: {
      schedule,
      jobTemplate: {
        metadata: { labels: { app: name }, annotations: { team: 'batch' } },
        spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
  };
}

interface Harness {
  readonly api: TestApi;
  readonly client: ApiClient;
  readonly clock: VirtualClock;
  running: RunningControllers | undefined;
  start(client?: ApiClient): Promise<void>;
  /** Moves virtual time forward by `ms`, letting every reconcile due on the way finish at its own time. */
  advance(ms: number): Promise<void>;
  stop(): void;
}

/** Waits until the controller's queue has been idle across a short real pause (watch events settle). */
async function settle(running: RunningControllers | undefined): Promise<void> {
  const queue = running?.runners[0]?.queue;
  if (queue === undefined) return;
  // A reconcile fired by a timer holds the queue until it is done; the pause lets the watch events of its
  // writes arrive (they may queue follow-up syncs, which are waited for too).
  for (let round = 0; round < 100; round++) {
    await queue.whenIdle();
    await sleep(3);
    if (queue.isIdle()) return;
  }
}

/**
 * An API server, a CronJob created in it, and a virtual clock starting at `startOf(creation time)`.
 * Tests that span days resync the informers hourly instead of every 5 minutes (fewer steps to wait for).
 */
async function harness(object: KubeObject, startOf: (createdMs: number) => number, resyncPeriodMs = RESYNC_PERIOD_MS_DEFAULT): Promise<Harness> {
  const api = await testApi();
  const client = adminClient(api);
  const created = await client.create(CRONJOBS, 'default', object);
  const clock = new VirtualClock(startOf(Date.parse(metaOf(created).creationTimestamp ?? '')));
  const state: Harness = {
    api,
    client,
    clock,
    running: undefined,
    async start(controllerClient = client) {
      const log = silentLogger();
      const controller = new CronJobController({ client: controllerClient, clock, log, events: new EventRecorder(controllerClient, 'cronjob-controller', clock, log) });
      const factory = new SharedInformerFactory(controllerClient, { clock, log, resyncPeriodMs });
      const runner = new ControllerRunner(controller, factory, { clock, log });
      await runner.start();
      state.running = {
        factory,
        runners: [runner],
        stop() {
          runner.stop();
          factory.stop();
        },
      };
      await settle(state.running);
    },
    async advance(ms) {
      const target = clock.now() + ms;
      for (;;) {
        const due = clock.nextDueMs();
        if (due === undefined || due > target) break;
        await clock.advance(Math.max(0, due - clock.now()));
        await settle(state.running);
      }
      await clock.advance(target - clock.now());
      await settle(state.running);
    },
    stop() {
      state.running?.stop();
      state.running = undefined;
    },
  };
  return state;
}

/** The next multiple of `stepMs` strictly after `ms`. */
const nextMark = (ms: number, stepMs: number): number => Math.floor(ms / stepMs) * stepMs + stepMs;

async function jobsOf(client: ApiClient, cronJobName: string): Promise<KubeObject[]> {
  return (await client.list(JOBS, { namespace: 'default' })).items.filter((job) => controllerRefOf(job)?.name === cronJobName && metaOf(job).deletionTimestamp === undefined);
}

async function jobNames(client: ApiClient, cronJobName: string): Promise<string[]> {
  return (await jobsOf(client, cronJobName)).map((job) => metaOf(job).name ?? '').sort();
}

async function finish(client: ApiClient, name: string, condition: 'Complete' | 'Failed', atMs: number): Promise<void> {
  const at = timestampOf(atMs);
  const status: KubeObject =
    condition === 'Complete'
      ? { startTime: at, completionTime: at, succeeded: 1, conditions: [{ type: 'Complete', status: 'True', lastTransitionTime: at }] }
      : { startTime: at, failed: 1, conditions: [{ type: 'Failed', status: 'True', lastTransitionTime: at, reason: 'BackoffLimitExceeded' }] };
  await client.patch(JOBS, 'default', name, { status }, 'merge', 'status');
}

async function events(client: ApiClient, cronJobName: string): Promise<{ reason: string; message: string; count: number }[]> {
  return (await client.list(EVENTS, { namespace: 'default' })).items
    .filter((event) => (event['involvedObject'] as { kind?: string; name?: string }).kind === 'CronJob' && (event['involvedObject'] as { name?: string }).name === cronJobName)
    .map((event) => ({ reason: String(event['reason']), message: String(event['message']), count: Number(event['count']) }));
}

const names = (cronJobName: string, times: readonly number[]): string[] => times.map((time) => jobNameFor(cronJobName, time)).sort();

test('creates a Job at each scheduled minute: name, scheduled-timestamp annotation, template labels, owner; status follows', async (t) => {
  let first = 0;
  const h = await harness(cronJob('tick', '*/5 * * * *'), (created) => (first = nextMark(created, 5 * MINUTE_MS)) - 1_000);
  await h.start();
  t.deepEqual(await jobNames(h.client, 'tick'), [], 'nothing is due before the first mark');
  await h.advance(1_000);
  await eventually(async () => (await jobNames(h.client, 'tick')).length === 1, 'the first Job');
  const [job] = await jobsOf(h.client, 'tick');
  const owner = await h.client.get(CRONJOBS, 'default', 'tick');
  t.is(metaOf(job ?? {}).name, `tick-${first / MINUTE_MS}`);
  t.is(metaOf(job ?? {}).annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION], timestampOf(first));
  t.is(metaOf(job ?? {}).annotations?.['team'], 'batch');
  t.is(metaOf(job ?? {}).labels?.['app'], 'tick');
  t.like(controllerRefOf(job ?? {}), { kind: 'CronJob', name: 'tick', uid: uidOf(owner), controller: true, blockOwnerDeletion: true });
  await h.advance(4 * MINUTE_MS); // 1 s before the next mark
  t.is((await jobNames(h.client, 'tick')).length, 1, 'not early');
  await h.advance(11 * MINUTE_MS + 30_000);
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'tick')) === JSON.stringify(names('tick', [first, first + 5 * MINUTE_MS, first + 10 * MINUTE_MS, first + 15 * MINUTE_MS])), 'a Job every 5 minutes');
  await eventually(async () => {
    const status = statusOf(await h.client.get(CRONJOBS, 'default', 'tick'));
    return status['lastScheduleTime'] === timestampOf(first + 15 * MINUTE_MS) && Array.isArray(status['active']) && status['active'].length === 4;
  }, 'status: lastScheduleTime and 4 active');
  t.true((await events(h.client, 'tick')).some((event) => event.reason === 'SuccessfulCreate' && event.message === `Created job tick-${first / MINUTE_MS}`));
  h.stop();
});

test('Forbid: no new run while one is active; the waiting run starts when it finishes; lastSuccessfulTime', async (t) => {
  let first = 0;
  const h = await harness(cronJob('solo', '* * * * *', { concurrencyPolicy: 'Forbid' }), (created) => (first = nextMark(created, MINUTE_MS)));
  await h.start();
  await eventually(async () => (await jobNames(h.client, 'solo')).length === 1, 'the first Job');
  await h.advance(2 * MINUTE_MS + 10_000);
  t.deepEqual(await jobNames(h.client, 'solo'), names('solo', [first]), 'still one Job');
  t.true((await events(h.client, 'solo')).some((event) => event.reason === 'JobAlreadyActive'));
  await finish(h.client, jobNameFor('solo', first), 'Complete', h.clock.now());
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'solo')) === JSON.stringify(names('solo', [first, first + 2 * MINUTE_MS])), 'the latest missed run starts once the Job finished');
  await eventually(async () => statusOf(await h.client.get(CRONJOBS, 'default', 'solo'))['lastSuccessfulTime'] === timestampOf(first + 2 * MINUTE_MS + 10_000), 'lastSuccessfulTime');
  t.true((await events(h.client, 'solo')).some((event) => event.reason === 'SawCompletedJob' && event.message === `Saw completed job: ${jobNameFor('solo', first)}, condition: Complete`));
  h.stop();
});

test('Replace deletes the active Job before the next run; Allow lets runs overlap', async (t) => {
  let first = 0;
  const h = await harness(cronJob('swap', '* * * * *', { concurrencyPolicy: 'Replace' }), (created) => (first = nextMark(created, MINUTE_MS)));
  await h.client.create(CRONJOBS, 'default', cronJob('many', '* * * * *'));
  await h.start();
  await eventually(async () => (await jobNames(h.client, 'swap')).length === 1 && (await jobNames(h.client, 'many')).length === 1, 'the first Jobs');
  await h.advance(MINUTE_MS);
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'swap')) === JSON.stringify(names('swap', [first + MINUTE_MS])), 'replaced');
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'many')) === JSON.stringify(names('many', [first, first + MINUTE_MS])), 'both run');
  t.true((await events(h.client, 'swap')).some((event) => event.reason === 'SuccessfulDelete' && event.message === `Deleted job ${jobNameFor('swap', first)}`));
  await eventually(async () => {
    const active = statusOf(await h.client.get(CRONJOBS, 'default', 'many'))['active'];
    return Array.isArray(active) && active.length === 2;
  }, 'two active');
  h.stop();
});

test('suspend stops runs; on resume only the latest missed run starts; startingDeadlineSeconds skips runs too late', async (t) => {
  let first = 0;
  const h = await harness(cronJob('nap', '* * * * *', { suspend: true }), (created) => (first = nextMark(created, MINUTE_MS)));
  await h.client.create(CRONJOBS, 'default', cronJob('strict', '* * * * *', { suspend: true, startingDeadlineSeconds: 30 }));
  await h.start();
  await h.advance(3 * MINUTE_MS + 40_000);
  t.deepEqual(await jobNames(h.client, 'nap'), []);
  t.deepEqual(await jobNames(h.client, 'strict'), []);
  await h.client.patch(CRONJOBS, 'default', 'nap', { spec: { suspend: false } });
  await h.client.patch(CRONJOBS, 'default', 'strict', { spec: { suspend: false } });
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'nap')) === JSON.stringify(names('nap', [first + 3 * MINUTE_MS])), 'one run, the latest');
  // 40 s after the latest run with a 30 s deadline: skipped, and said so.
  const missedAt = new Date(first + 3 * MINUTE_MS).toUTCString().replace(/ GMT$/, ' +0000');
  await eventually(async () => (await events(h.client, 'strict')).some((event) => event.reason === 'MissSchedule' && event.message === `Missed scheduled time to start a job: ${missedAt}`), 'MissSchedule (RFC 1123 with a numeric zone)');
  t.deepEqual(await jobNames(h.client, 'strict'), []);
  await h.advance(20_000);
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'strict')) === JSON.stringify(names('strict', [first + 4 * MINUTE_MS])), 'the next run in time');
  h.stop();
});

test('more than 100 missed runs: TooManyMissedTimes, and one Job for the latest', async (t) => {
  let first = 0;
  const h = await harness(cronJob('late', '* * * * *'), (created) => (first = nextMark(created, MINUTE_MS)) + 150 * MINUTE_MS + 5_000);
  await h.start();
  await eventually(async () => (await events(h.client, 'late')).some((event) => event.reason === 'TooManyMissedTimes'), 'TooManyMissedTimes');
  t.deepEqual(await jobNames(h.client, 'late'), names('late', [first + 150 * MINUTE_MS]));
  h.stop();
});

test('history limits: the oldest finished Jobs beyond each limit are deleted', async (t) => {
  let first = 0;
  const h = await harness(cronJob('hist', '* * * * *', { successfulJobsHistoryLimit: 2, failedJobsHistoryLimit: 1 }), (created) => (first = nextMark(created, MINUTE_MS)));
  await h.start();
  const outcomes: ('Complete' | 'Failed')[] = ['Complete', 'Failed', 'Complete', 'Failed', 'Complete', 'Complete'];
  for (const [index, outcome] of outcomes.entries()) {
    const name = jobNameFor('hist', first + index * MINUTE_MS);
    await eventually(async () => (await jobNames(h.client, 'hist')).includes(name), `run ${index}`);
    await finish(h.client, name, outcome, h.clock.now());
    await settle(h.running);
    await h.advance(MINUTE_MS);
  }
  const expected = [...names('hist', [first + 4 * MINUTE_MS, first + 5 * MINUTE_MS, first + 3 * MINUTE_MS, first + 6 * MINUTE_MS])].sort();
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'hist')) === JSON.stringify(expected), `kept ${expected.join(', ')}`);
  t.true((await events(h.client, 'hist')).some((event) => event.reason === 'SuccessfulDelete' && event.message === `Deleted job ${jobNameFor('hist', first)}`));
  h.stop();
});

test('a time zone: the run is at 09:00 in Kolkata (03:30 UTC), annotated with the zone offset', async (t) => {
  let first = 0;
  const h = await harness(cronJob('kolkata', '0 9 * * *', { timeZone: 'Asia/Kolkata' }), (created) => {
    first = nextMark(created - 3.5 * 3_600_000, 86_400_000) + 3.5 * 3_600_000;
    return first - 1_000;
  });
  await h.start();
  await h.advance(1_000);
  await eventually(async () => (await jobNames(h.client, 'kolkata')).length === 1, 'the Job');
  const [job] = await jobsOf(h.client, 'kolkata');
  t.is(metaOf(job ?? {}).name, jobNameFor('kolkata', first));
  t.is(metaOf(job ?? {}).annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION], zonedTimestamp(first, 'Asia/Kolkata'));
  t.regex(zonedTimestamp(first, 'Asia/Kolkata'), /T09:00:00\+05:30$/);
  h.stop();
});

test('when clocks go back in New York, 01:30 runs twice and 02:30 once; a CronJob far behind catches up once', async (t) => {
  // The runs are counted from lastScheduleTime, set here to a day in 2025 where the clock starts.
  const start = Date.parse('2025-10-31T12:00:00Z');
  const h = await harness(cronJob('back', '30 1 * * *', { timeZone: 'America/New_York' }), () => start, 3_600_000);
  await h.client.create(CRONJOBS, 'default', cronJob('forward', '30 2 * * *', { timeZone: 'America/New_York' }));
  await h.client.patch(CRONJOBS, 'default', 'back', { status: { lastScheduleTime: timestampOf(start) } }, 'merge', 'status');
  await h.client.patch(CRONJOBS, 'default', 'forward', { status: { lastScheduleTime: timestampOf(Date.parse('2025-03-07T12:00:00Z')) } }, 'merge', 'status');
  await h.start();
  await h.advance(4 * 86_400_000);
  const back = ['2025-11-01T05:30:00Z', '2025-11-02T05:30:00Z', '2025-11-02T06:30:00Z', '2025-11-03T06:30:00Z', '2025-11-04T06:30:00Z'].map(Date.parse);
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'back')) === JSON.stringify(names('back', back)), 'five runs, two on the day clocks go back');
  const [repeated] = (await jobsOf(h.client, 'back')).filter((job) => metaOf(job).name === jobNameFor('back', Date.parse('2025-11-02T06:30:00Z')));
  t.is(metaOf(repeated ?? {}).annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION], '2025-11-02T01:30:00-05:00', 'the second 01:30, in EST');
  // The other was last run on 2025-03-07: at start only the latest missed run starts (10-31), then one a
  // day, at 06:30 UTC in EDT and 07:30 UTC in EST (02:30 happens once on the day clocks go back).
  const forward = ['2025-10-31T06:30:00Z', '2025-11-01T06:30:00Z', '2025-11-02T07:30:00Z', '2025-11-03T07:30:00Z', '2025-11-04T07:30:00Z'].map(Date.parse);
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'forward')) === JSON.stringify(names('forward', forward)), 'the latest missed run, then daily');
  h.stop();
});

test('the spring-forward day has no 02:30 in New York: that run is skipped', async (t) => {
  const start = Date.parse('2025-03-08T12:00:00Z');
  const h = await harness(cronJob('forward', '30 2 * * *', { timeZone: 'America/New_York' }), () => start, 3_600_000);
  await h.client.patch(CRONJOBS, 'default', 'forward', { status: { lastScheduleTime: timestampOf(start) } }, 'merge', 'status');
  await h.start();
  await h.advance(3 * 86_400_000);
  await eventually(async () => JSON.stringify(await jobNames(h.client, 'forward')) === JSON.stringify(names('forward', ['2025-03-10T06:30:00Z', '2025-03-11T06:30:00Z'].map(Date.parse))), 'no run on 2025-03-09');
  t.pass();
  h.stop();
});

/** Refuses PATCHes of CronJob status: the controller "crashes" between creating a Job and recording it. */
class NoCronJobStatusTransport implements ApiTransport {
  constructor(private readonly inner: ApiTransport) {}
  call(request: ApiCall): Promise<ApiAnswer> {
    if (request.method === 'PATCH' && request.path.includes('/cronjobs/') && request.path.endsWith('/status')) {
      return Promise.resolve({ status: 500, body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'injected', reason: 'InternalError', code: 500 } });
    }
    return this.inner.call(request);
  }
  watch(request: ApiCall, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream> {
    return this.inner.watch(request, onEvent);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

test('a controller restarted after creating a Job but before recording it does not create a second Job for that minute', async (t) => {
  let first = 0;
  const h = await harness(cronJob('once', '* * * * *'), (created) => (first = nextMark(created, MINUTE_MS)));
  const created = new Set<string>();
  const stream = await h.client.watch(JOBS, {}, (event) => {
    if (event.type === 'ADDED') created.add(metaOf(event.object as KubeObject).uid ?? '');
  });
  await h.start(new ApiClient(new NoCronJobStatusTransport(new LocalApiTransport(h.api.handler, ADMIN))));
  await eventually(async () => (await jobNames(h.client, 'once')).length === 1, 'the Job of the first run');
  t.is(statusOf(await h.client.get(CRONJOBS, 'default', 'once'))['lastScheduleTime'], undefined, 'its status was never written');
  h.stop();
  await h.start();
  await eventually(async () => statusOf(await h.client.get(CRONJOBS, 'default', 'once'))['lastScheduleTime'] === timestampOf(first), 'the new controller records the run');
  t.deepEqual(await jobNames(h.client, 'once'), names('once', [first]));
  await h.advance(MINUTE_MS);
  await eventually(async () => (await jobNames(h.client, 'once')).length === 2, 'the next run');
  await sleep(100);
  t.is(created.size, 2, 'exactly one Job per minute was ever created');
  stream.stop();
  h.stop();
});

test('the API refuses bad schedules and unknown time zones with the parser’s message', async (t) => {
  const api = await testApi();
  const refused = async (schedule: string, timeZone?: string): Promise<string> => {
    const answer = await api.call('POST', '/apis/batch/v1/namespaces/default/cronjobs', cronJob('bad', schedule, timeZone === undefined ? {} : { timeZone }));
    t.is(answer.status, 422);
    return JSON.stringify(answer.body);
  };
  t.regex(await refused('61 * * * *'), /spec.schedule.*end of minute range \(61\) above maximum \(59\)/);
  t.regex(await refused('TZ=UTC 0 * * * *'), /cannot use TZ or CRON_TZ in schedule, use timeZone field instead/);
  t.regex(await refused('0 * * * *', 'Mars/Olympus_Mons'), /spec.timeZone.*unknown time zone Mars\/Olympus_Mons/);
  const ok = await api.call('POST', '/apis/batch/v1/namespaces/default/cronjobs', cronJob('good', '0 9 * * MON-FRI', { timeZone: 'Europe/Paris' }));
  t.is(ok.status, 201, JSON.stringify(ok.body));
});
