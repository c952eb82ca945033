// The CronJob controller: creates a Job from the CronJob's jobTemplate at each scheduled time, with time
// only from the injected Clock (a virtual clock in tests). A Job is named `<cronjob>-<scheduled time in
// minutes since the epoch>` (as Kubernetes names them), so a controller that restarts, or acts on a stale
// cache, cannot create two Jobs for the same run: the second create is an AlreadyExists. Each Job carries
// the annotation batch.kubernetes.io/cronjob-scheduled-timestamp, the template's labels and annotations,
// and a controller owner reference to the CronJob.
//
// One sync: reconcile status.active with the owned Jobs (finished ones leave it: SawCompletedJob; owned
// unfinished ones missing from it join it); unless suspended, find the most recent scheduled time since
// lastScheduleTime (or creation) no older than startingDeadlineSeconds (runs older than that are
// skipped: MissSchedule; more than 100 missed: TooManyMissedTimes); run it unless already run, or a Job
// is active and concurrencyPolicy is Forbid (JobAlreadyActive), deleting the active Jobs first when it
// is Replace (SuccessfulDelete); delete the oldest finished Jobs beyond successfulJobsHistoryLimit and
// failedJobsHistoryLimit; write status (active, lastScheduleTime, lastSuccessfulTime); requeue for the
// next scheduled time through the work queue's delayed add.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { CRONJOBS, isAlreadyExists, isConflict, isNotFound, JOBS, type ApiClient, type KubeObject } from '../client/index.js';
import { latestScheduleBetween, nextScheduleAfter, parseSchedule, scheduledTimesBetween, timeZoneError, wallTimeMs, CronScheduleError, type CronSchedule } from './cron-schedule.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { controllerRefOf, controllerReference, fieldOf, isBeingDeleted, keyOf, metaOf, nameOf, namespaceOf, specOf, splitKey, statusOf, stringField, timestampOf, uidOf } from './machinery/objects.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';

export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
/** More missed runs than this since the last one gives a TooManyMissedTimes event (Kubernetes' figure). */
export const TOO_MANY_MISSED_RUNS = 100;

export interface CronJobControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

interface JobReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly resourceVersion?: string;
}

/** What a sync changes in the CronJob's status. */
interface CronJobState {
  active: JobReference[];
  lastScheduleTimeMs: number | undefined;
  lastSuccessfulTimeMs: number | undefined;
}

type Finished = 'Complete' | 'Failed' | undefined;

/** Complete or Failed when the Job has that condition True. */
export function jobFinished(job: KubeObject): Finished {
  const conditions = statusOf(job)['conditions'];
  if (!Array.isArray(conditions)) return undefined;
  for (const condition of conditions as { type?: unknown; status?: unknown }[]) {
    if (condition.status === 'True' && (condition.type === 'Complete' || condition.type === 'Failed')) return condition.type;
  }
  return undefined;
}

/** The name Kubernetes gives the Job of a run: the scheduled time in minutes since the epoch. */
export function jobNameFor(cronJobName: string, scheduledMs: number): string {
  return `${cronJobName}-${Math.floor(scheduledMs / 60_000)}`;
}

/** RFC 3339 in the CronJob's zone (Z for UTC), as the scheduled-timestamp annotation is written. */
export function zonedTimestamp(instantMs: number, timeZone: string | undefined): string {
  const offsetMinutes = Math.round((wallTimeMs(instantMs, timeZone) - instantMs) / 60_000);
  if (offsetMinutes === 0) return timestampOf(instantMs);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const hours = String(Math.floor(Math.abs(offsetMinutes) / 60)).padStart(2, '0');
  const minutes = String(Math.abs(offsetMinutes) % 60).padStart(2, '0');
  return `${timestampOf(instantMs + offsetMinutes * 60_000).slice(0, -1)}${sign}${hours}:${minutes}`;
}

function parseTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function optionalNumber(object: Record<string, unknown>, field: string): number | undefined {
  const value = object[field];
  return typeof value === 'number' ? value : undefined;
}

function referenceTo(job: KubeObject): JobReference {
  const meta = metaOf(job);
  return { apiVersion: 'batch/v1', kind: 'Job', namespace: namespaceOf(job), name: nameOf(job), uid: uidOf(job), ...(meta.resourceVersion === undefined ? {} : { resourceVersion: meta.resourceVersion }) };
}

function referencesOf(value: unknown): JobReference[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { name, uid, namespace } = entry as { name?: unknown; uid?: unknown; namespace?: unknown };
    return typeof name === 'string' ? [{ apiVersion: 'batch/v1', kind: 'Job', namespace: typeof namespace === 'string' ? namespace : '', name, uid: typeof uid === 'string' ? uid : '' }] : [];
  });
}

/** When a Job started, for ordering its history (startTime, else creation). */
function startedAtMs(job: KubeObject): number {
  return parseTime(statusOf(job)['startTime']) ?? parseTime(metaOf(job).creationTimestamp) ?? 0;
}

export class CronJobController implements Controller {
  readonly name = 'cronjob';
  private cronJobs: SharedInformer | undefined;
  private jobs: SharedInformer | undefined;

  constructor(private readonly env: CronJobControllerEnv) {}

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const cronJobs = (this.cronJobs = factory.informerFor(CRONJOBS));
    const jobs = (this.jobs = factory.informerFor(JOBS));
    const enqueueOwner = (job: KubeObject): void => {
      const reference = controllerRefOf(job);
      if (reference?.kind === 'CronJob') enqueue(`${namespaceOf(job)}/${reference.name}`);
    };
    const cronJobRegistration = cronJobs.addHandlers({
      onAdd: (object) => enqueue(keyOf(object)),
      onUpdate: (_previous, object) => enqueue(keyOf(object)),
      onDelete: (object) => enqueue(keyOf(object)),
    });
    const jobRegistration = jobs.addHandlers({ onAdd: enqueueOwner, onUpdate: (_previous, job) => enqueueOwner(job), onDelete: enqueueOwner });
    return () => {
      cronJobRegistration.remove();
      jobRegistration.remove();
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const cronJob = this.cronJobs?.get(namespace, name);
    if (cronJob === undefined || namespace === undefined) return DONE;
    const owned = (this.jobs?.ownedBy(uidOf(cronJob)) ?? []).filter((job) => controllerRefOf(job)?.uid === uidOf(cronJob));
    const status = statusOf(cronJob);
    const state: CronJobState = {
      active: referencesOf(status['active']),
      lastScheduleTimeMs: parseTime(status['lastScheduleTime']),
      lastSuccessfulTimeMs: parseTime(status['lastSuccessfulTime']),
    };
    await this.syncActive(cronJob, owned, state);
    let result: ReconcileResult = DONE;
    if (!isBeingDeleted(cronJob)) result = await this.runDue(cronJob, owned, state);
    await this.deleteOldFinishedJobs(cronJob, owned);
    await this.writeStatus(cronJob, state);
    return result;
  }

  /** status.active ← owned Jobs not finished; finished ones leave with SawCompletedJob; gone ones are dropped. */
  private async syncActive(cronJob: KubeObject, owned: readonly KubeObject[], state: CronJobState): Promise<void> {
    const byUid = new Map(owned.map((job) => [uidOf(job), job] as const));
    const kept: JobReference[] = [];
    for (const reference of state.active) {
      let job = byUid.get(reference.uid);
      if (job === undefined) {
        // Not in the cache: perhaps created a moment ago. Ask the server before dropping it.
        job = await this.env.client.get(JOBS, namespaceOf(cronJob), reference.name).catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        });
        if (job === undefined || uidOf(job) !== reference.uid) {
          void this.env.events?.record(CRONJOBS, cronJob, 'Warning', 'MissingJob', `Active job went missing: ${reference.name}`);
          continue;
        }
      }
      const finished = jobFinished(job);
      if (finished !== undefined) {
        void this.env.events?.record(CRONJOBS, cronJob, 'Normal', 'SawCompletedJob', `Saw completed job: ${nameOf(job)}, condition: ${finished}`);
        continue;
      }
      kept.push(referenceTo(job));
    }
    for (const job of owned) {
      if (jobFinished(job) === undefined && !isBeingDeleted(job) && !kept.some((reference) => reference.uid === uidOf(job))) kept.push(referenceTo(job));
    }
    state.active = kept;
    for (const job of owned) {
      if (jobFinished(job) !== 'Complete') continue;
      const completedMs = parseTime(statusOf(job)['completionTime']);
      if (completedMs !== undefined && (state.lastSuccessfulTimeMs === undefined || completedMs > state.lastSuccessfulTimeMs)) state.lastSuccessfulTimeMs = completedMs;
    }
  }

  /** Starts the most recent due run, if any; returns when to look again. */
  private async runDue(cronJob: KubeObject, owned: readonly KubeObject[], state: CronJobState): Promise<ReconcileResult> {
    const spec = specOf(cronJob);
    if (spec['suspend'] === true) return DONE; // resumed by an update, which enqueues it
    const timeZone = stringField(spec, 'timeZone');
    const zoneError = timeZone === undefined ? undefined : timeZoneError(timeZone);
    if (zoneError !== undefined) {
      void this.env.events?.record(CRONJOBS, cronJob, 'Warning', 'UnknownTimeZone', `invalid timeZone: "${timeZone ?? ''}": ${zoneError}`);
      return DONE;
    }
    let schedule: CronSchedule;
    try {
      schedule = parseSchedule(stringField(spec, 'schedule') ?? '');
    } catch (error) {
      if (!(error instanceof CronScheduleError)) throw error;
      void this.env.events?.record(CRONJOBS, cronJob, 'Warning', 'InvalidSchedule', `invalid schedule: ${stringField(spec, 'schedule') ?? ''} : ${error.message}`);
      return DONE;
    }
    const now = this.env.clock.now();
    const next = nextScheduleAfter(schedule, now, timeZone);
    const lookAgain = next === undefined ? DONE : requeueAfter(next - now);
    const earliest = state.lastScheduleTimeMs ?? parseTime(metaOf(cronJob).creationTimestamp) ?? now;
    const deadlineSeconds = optionalNumber(spec, 'startingDeadlineSeconds');
    const windowStart = deadlineSeconds === undefined ? earliest : Math.max(earliest, now - deadlineSeconds * 1000);
    if (windowStart > earliest) {
      const tooLate = latestScheduleBetween(schedule, earliest, windowStart, timeZone);
      if (tooLate !== undefined) void this.env.events?.record(CRONJOBS, cronJob, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${new Date(tooLate).toUTCString().replace(/ GMT$/, ' +0000')}`);
    }
    if (scheduledTimesBetween(schedule, windowStart, now, TOO_MANY_MISSED_RUNS, timeZone).length > TOO_MANY_MISSED_RUNS) {
      void this.env.events?.record(CRONJOBS, cronJob, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
    }
    const scheduled = latestScheduleBetween(schedule, windowStart, now, timeZone);
    if (scheduled === undefined) return lookAgain;
    const jobName = jobNameFor(nameOf(cronJob), scheduled);
    if (state.lastScheduleTimeMs === scheduled) return lookAgain;
    if (state.active.some((reference) => reference.name === jobName) || owned.some((job) => nameOf(job) === jobName)) {
      // Its Job exists (made before a restart, or seen before our own status write): the run happened.
      state.lastScheduleTimeMs = Math.max(state.lastScheduleTimeMs ?? scheduled, scheduled);
      return lookAgain;
    }
    const policy = stringField(spec, 'concurrencyPolicy') ?? 'Allow';
    if (policy === 'Forbid' && state.active.length > 0) {
      // Kubernetes waits: the run starts when the active Job finishes, if still within the deadline.
      void this.env.events?.record(CRONJOBS, cronJob, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return lookAgain;
    }
    if (policy === 'Replace') {
      for (const reference of state.active) await this.deleteJob(cronJob, reference.name, reference.uid);
      state.active = [];
    }
    const created = await this.createJob(cronJob, jobName, scheduled, timeZone);
    if (created !== undefined && jobFinished(created) === undefined && !state.active.some((reference) => reference.uid === uidOf(created))) state.active.push(referenceTo(created));
    state.lastScheduleTimeMs = scheduled;
    return lookAgain;
  }

  /** Creates the run's Job; an existing Job of that name owned by this CronJob counts as created. */
  private async createJob(cronJob: KubeObject, jobName: string, scheduledMs: number, timeZone: string | undefined): Promise<KubeObject | undefined> {
    const template = fieldOf(specOf(cronJob), 'jobTemplate');
    const templateMeta = fieldOf(template, 'metadata');
    const labels = fieldOf(templateMeta, 'labels');
    const annotations = fieldOf(templateMeta, 'annotations');
    const job: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: jobName,
        namespace: namespaceOf(cronJob),
        labels,
        annotations: { ...annotations, [CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]: zonedTimestamp(scheduledMs, timeZone) },
        ownerReferences: [controllerReference(cronJob, 'batch/v1', 'CronJob')],
      },
      spec: structuredClone(fieldOf(template, 'spec')),
    };
    try {
      const created = await this.env.client.create(JOBS, namespaceOf(cronJob), job);
      void this.env.events?.record(CRONJOBS, cronJob, 'Normal', 'SuccessfulCreate', `Created job ${jobName}`);
      return created;
    } catch (error) {
      if (!isAlreadyExists(error)) {
        void this.env.events?.record(CRONJOBS, cronJob, 'Warning', 'FailedCreate', `Error creating job: ${error instanceof Error ? error.message : String(error)}`);
        throw error;
      }
      // Made before (a restart, a stale cache): the run happened. Someone else's Job of that name: do not adopt it.
      const existing = await this.env.client.get(JOBS, namespaceOf(cronJob), jobName).catch(() => undefined);
      this.env.log.debug({ cronJob: keyOf(cronJob), job: jobName }, 'job for this run exists already');
      return existing !== undefined && controllerRefOf(existing)?.uid === uidOf(cronJob) ? existing : undefined;
    }
  }

  private async deleteJob(cronJob: KubeObject, name: string, uid: string): Promise<void> {
    try {
      await this.env.client.delete(JOBS, namespaceOf(cronJob), name, { propagationPolicy: 'Background', ...(uid === '' ? {} : { preconditions: { uid } }) });
      void this.env.events?.record(CRONJOBS, cronJob, 'Normal', 'SuccessfulDelete', `Deleted job ${name}`);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Deletes the oldest finished Jobs beyond the history limits (each kind counted on its own). */
  private async deleteOldFinishedJobs(cronJob: KubeObject, owned: readonly KubeObject[]): Promise<void> {
    const spec = specOf(cronJob);
    const limits: [Finished, number | undefined][] = [
      ['Complete', optionalNumber(spec, 'successfulJobsHistoryLimit')],
      ['Failed', optionalNumber(spec, 'failedJobsHistoryLimit')],
    ];
    for (const [kind, limit] of limits) {
      if (limit === undefined) continue;
      const finished = owned.filter((job) => jobFinished(job) === kind && !isBeingDeleted(job)).sort((a, b) => startedAtMs(a) - startedAtMs(b));
      for (const job of finished.slice(0, Math.max(0, finished.length - limit))) await this.deleteJob(cronJob, nameOf(job), uidOf(job));
    }
  }

  private async writeStatus(cronJob: KubeObject, state: CronJobState): Promise<void> {
    if (isBeingDeleted(cronJob)) return;
    const previous = statusOf(cronJob);
    const uids = (references: readonly JobReference[]): string => references.map((reference) => reference.uid).join(',');
    const unchanged =
      uids(referencesOf(previous['active'])) === uids(state.active) &&
      parseTime(previous['lastScheduleTime']) === state.lastScheduleTimeMs &&
      parseTime(previous['lastSuccessfulTime']) === state.lastSuccessfulTimeMs;
    if (unchanged) return;
    const status: Record<string, unknown> = { active: state.active.length === 0 ? null : state.active };
    if (state.lastScheduleTimeMs !== undefined) status['lastScheduleTime'] = timestampOf(state.lastScheduleTimeMs);
    if (state.lastSuccessfulTimeMs !== undefined) status['lastSuccessfulTime'] = timestampOf(state.lastSuccessfulTimeMs);
    // Written against the version read: a stale cache must not put back an older lastScheduleTime. A
    // conflict means a newer version exists, whose watch event brings this CronJob back to the queue.
    try {
      await this.env.client.patch(CRONJOBS, namespaceOf(cronJob), nameOf(cronJob), { metadata: { resourceVersion: metaOf(cronJob).resourceVersion }, status }, 'merge', 'status');
    } catch (error) {
      if (isConflict(error)) this.env.log.debug({ cronJob: keyOf(cronJob) }, 'cronjob status write conflicted; a newer version is queued');
      else if (!isNotFound(error)) throw error;
    }
  }
}
