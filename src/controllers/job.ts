// The Job controller: runs a Job's pods to completion. It keeps up to `parallelism` pods active while
// fewer than `completions` have succeeded (an Indexed Job gives each pod an index 0…completions-1,
// with its annotation/label, hostname <job>-<index> and JOB_COMPLETION_INDEX), counts Succeeded and
// Failed pods, replaces failed ones after a backoff (10 s doubling), and ends the Job:
//   - Complete (with SuccessCriteriaMet) once enough pods succeeded; leftover active pods are deleted;
//   - Failed, reason BackoffLimitExceeded, when failures exceed backoffLimit (for OnFailure pods, their
//     container restarts count), or DeadlineExceeded after activeDeadlineSeconds; active pods deleted.
// `suspend` deletes the active pods (condition Suspended) and resuming restarts the clock. A finished
// Job with ttlSecondsAfterFinished is deleted (background cascading) that long after it finished.
// Like the ReplicaSet controller it adopts matching orphans and never acts while its own creations or
// deletions are unobserved (expectations). Counts come from the pods present (no tracking finalizers):
// deleting a finished pod of a running Job by hand can make it run one more. Time is the injected clock's.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { isNotFound, JOBS, PODS, type ApiClient, type KubeObject } from '../client/index.js';
import {
  backoffDelayMs,
  completionIndexOf,
  conditionsOf,
  finishedAtMs,
  formatIndexes,
  isJobFinished,
  isJobPodActive,
  isJobPodTerminating,
  isPodFailed,
  isPodSucceeded,
  JOB_BACKOFF_BASE_MS_DEFAULT,
  JOB_COMPLETION_INDEX,
  jobFinishedAtMs,
  jobSpecOf,
  pendingIndexes,
  restartsOf,
  withCondition,
  type JobSpecView,
} from './job-status.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import { Expectations } from './machinery/expectations.js';
import { deleteOwnedPods, watchOwnedPods } from './machinery/owned-pods.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { selectorMatches } from './machinery/labels.js';
import { controllerRefOf, controllerReference, isBeingDeleted, isPodReady, keyOf, metaOf, nameOf, namespaceOf, selectorOf, splitKey, statusOf, templateOf, timestampOf, uidOf } from './machinery/objects.js';
import { compareForDeletion, podFromTemplate } from './machinery/pod-control.js';
import { DONE, earliest, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';

/** Most pods created or deleted in one sync (Kubernetes' burstReplicas for Jobs). */
export const JOB_BURST = 500;

export interface JobControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
  /** The first pod failure backoff (default 10 s; doubles per failure, at most 6 minutes). */
  readonly backoffBaseMs?: number;
}

/** What one sync saw of a Job's pods. */
interface PodCounts {
  readonly active: KubeObject[];
  readonly succeeded: number;
  readonly failed: number;
  readonly terminating: number;
  readonly ready: number;
  readonly succeededIndexes: Set<number>;
  readonly lastFailureMs: number | undefined;
  readonly restarts: number;
}

type Outcome = { readonly type: 'Complete' } | { readonly type: 'Failed'; readonly reason: string; readonly message: string } | undefined;

export class JobController implements Controller {
  readonly name = 'job';
  readonly expectations: Expectations;
  private jobs: SharedInformer | undefined;
  private pods: SharedInformer | undefined;

  constructor(private readonly env: JobControllerEnv) {
    this.expectations = new Expectations(env.clock);
  }

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const jobs = (this.jobs = factory.informerFor(JOBS));
    const pods = (this.pods = factory.informerFor(PODS));
    return watchOwnedPods({ owners: jobs, pods, ownerKind: 'Job', expectations: this.expectations, enqueue });
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const job = this.jobs?.get(namespace, name);
    if (job === undefined || namespace === undefined) {
      this.expectations.forget(key);
      return DONE;
    }
    if (isBeingDeleted(job)) return DONE;
    if (isJobFinished(job)) return this.expireIfDue(job);
    // Expectations first, then the cache: an event arriving in between must not make a stale list look current.
    const needsSync = this.expectations.satisfied(key);
    const owned = await this.claimPods(job);
    const spec = jobSpecOf(job);
    const counts = countPods(owned, spec);
    const now = this.env.clock.now();
    const nowText = timestampOf(now);
    const previous = statusOf(job);
    let conditions = conditionsOf(job);
    let startTime = typeof previous['startTime'] === 'string' ? previous['startTime'] : undefined;
    let completionTime: string | undefined;
    let next: ReconcileResult = DONE;
    /** Active pods this sync deleted: terminating from now on. */
    let deleted = 0;

    if (spec.suspend) {
      if (counts.active.length > 0 && needsSync) deleted = await this.deletePods(job, counts.active, 'Job suspended');
      if (!conditions.some((condition) => condition.type === 'Suspended' && condition.status === 'True')) {
        conditions = withCondition(conditions, 'Suspended', 'True', 'JobSuspended', 'Job suspended', nowText);
        void this.env.events?.record(JOBS, job, 'Normal', 'Suspended', 'Job suspended');
      }
      startTime = undefined;
    } else {
      if (conditions.some((condition) => condition.type === 'Suspended' && condition.status === 'True')) {
        conditions = withCondition(conditions, 'Suspended', 'False', 'JobResumed', 'Job resumed', nowText);
        void this.env.events?.record(JOBS, job, 'Normal', 'Resumed', 'Job resumed');
        startTime = undefined;
      }
      startTime ??= nowText;
      const outcome = this.outcomeOf(spec, counts, Date.parse(startTime), now);
      if (outcome?.type === 'Failed') {
        if (counts.active.length > 0) deleted = await this.deletePods(job, counts.active, outcome.message);
        conditions = withCondition(conditions, 'FailureTarget', 'True', outcome.reason, outcome.message, nowText);
        conditions = withCondition(conditions, 'Failed', 'True', outcome.reason, outcome.message, nowText);
        void this.env.events?.record(JOBS, job, 'Warning', outcome.reason, outcome.message);
      } else if (outcome?.type === 'Complete') {
        if (counts.active.length > 0) deleted = await this.deletePods(job, counts.active, 'Job completed');
        conditions = withCondition(conditions, 'SuccessCriteriaMet', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', nowText);
        conditions = withCondition(conditions, 'Complete', 'True', 'CompletionsReached', 'Reached expected number of succeeded pods', nowText);
        completionTime = nowText;
        void this.env.events?.record(JOBS, job, 'Normal', 'Completed', 'Job completed');
      } else {
        if (needsSync) next = await this.managePods(job, spec, counts, now);
        if (spec.activeDeadlineSeconds !== undefined) next = earliest(next, requeueAfter(Date.parse(startTime) + spec.activeDeadlineSeconds * 1000 - now));
      }
    }
    await this.writeStatus(job, {
      active: counts.active.length - deleted,
      ready: deleted > 0 ? 0 : counts.ready,
      succeeded: counts.succeeded,
      failed: counts.failed,
      terminating: counts.terminating + deleted,
      startTime: startTime ?? null,
      ...(completionTime === undefined ? {} : { completionTime }),
      ...(spec.indexed ? { completedIndexes: formatIndexes(counts.succeededIndexes) } : {}),
      conditions: conditions.length === 0 ? null : conditions,
    });
    if (isJobFinished({ status: { conditions } }) && spec.ttlSecondsAfterFinished !== undefined) return requeueAfter(spec.ttlSecondsAfterFinished * 1000);
    return next;
  }

  /** Whether the Job is done, and how: deadline and backoff checks first, then completions. */
  private outcomeOf(spec: JobSpecView, counts: PodCounts, startMs: number, now: number): Outcome {
    if (spec.activeDeadlineSeconds !== undefined && now - startMs >= spec.activeDeadlineSeconds * 1000) {
      return { type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' };
    }
    // OnFailure pods retry in place: their containers' restarts count (Kubernetes' pastBackoffLimitOnFailure).
    const restartsExceeded = spec.restartOnFailure && (spec.backoffLimit === 0 ? counts.restarts > 0 : counts.restarts >= spec.backoffLimit);
    if (counts.failed > spec.backoffLimit || restartsExceeded) {
      return { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' };
    }
    if (spec.completions === undefined) return counts.succeeded > 0 && counts.active.length === 0 ? { type: 'Complete' } : undefined;
    const done = spec.indexed ? counts.succeededIndexes.size : counts.succeeded;
    return done >= spec.completions ? { type: 'Complete' } : undefined;
  }

  /** Creates or deletes pods toward the wanted number of active pods; returns when to look again. */
  private async managePods(job: KubeObject, spec: JobSpecView, counts: PodCounts, now: number): Promise<ReconcileResult> {
    const key = keyOf(job);
    const active = counts.active;
    // A work queue (no completions) starts no pod once one has succeeded, and lets the running ones finish.
    const remaining = spec.completions === undefined ? (counts.succeeded > 0 ? active.length : spec.parallelism) : spec.completions - (spec.indexed ? counts.succeededIndexes.size : counts.succeeded);
    const wanted = Math.max(0, Math.min(spec.parallelism, remaining));
    if (active.length > wanted) {
      const victims = [...active].sort(compareForDeletion).slice(0, Math.min(active.length - wanted, JOB_BURST));
      await this.deletePods(job, victims, 'more active pods than wanted');
      return DONE;
    }
    // podReplacementPolicy Failed: terminating pods still hold their places.
    const occupied = active.length + (spec.replaceOnlyFailed ? counts.terminating : 0);
    if (occupied >= wanted) return DONE;
    // A failure is replaced only after the backoff since the last one.
    const delay = backoffDelayMs(counts.failed, this.env.backoffBaseMs ?? JOB_BACKOFF_BASE_MS_DEFAULT);
    if (delay > 0 && counts.lastFailureMs !== undefined && now < counts.lastFailureMs + delay) return requeueAfter(counts.lastFailureMs + delay - now);
    let count = Math.min(wanted - occupied, JOB_BURST);
    let indexes: (number | undefined)[] = Array.from({ length: count }, () => undefined);
    if (spec.indexed && spec.completions !== undefined) {
      const running = new Set(active.map(completionIndexOf).filter((index): index is number => index !== undefined));
      indexes = pendingIndexes(spec.completions, counts.succeededIndexes, running, count);
      count = indexes.length;
    }
    if (count === 0) return DONE;
    this.expectations.expectCreations(key, count);
    const owner = controllerReference(job, 'batch/v1', 'Job');
    const results = await Promise.allSettled(indexes.map((index) => this.env.client.create(PODS, namespaceOf(job), podForJob(job, owner, index))));
    let failure: string | undefined;
    for (const result of results) {
      if (result.status === 'fulfilled') {
        void this.env.events?.record(JOBS, job, 'Normal', 'SuccessfulCreate', `Created pod: ${nameOf(result.value)}`);
        continue;
      }
      this.expectations.creationObserved(key);
      failure ??= result.reason instanceof Error ? result.reason.message : String(result.reason);
    }
    if (failure !== undefined) {
      void this.env.events?.record(JOBS, job, 'Warning', 'FailedCreate', `Error creating: ${failure}`);
      throw new Error(`job ${key}: ${failure}`);
    }
    return DONE;
  }

  /** Deletes the pods (expecting their deletions); returns how many. */
  private async deletePods(job: KubeObject, pods: readonly KubeObject[], why: string): Promise<number> {
    const key = keyOf(job);
    const deleted = await deleteOwnedPods(this.env.client, this.expectations, key, pods);
    for (const pod of deleted) void this.env.events?.record(JOBS, job, 'Normal', 'SuccessfulDelete', `Deleted pod: ${nameOf(pod)}`);
    this.env.log.debug({ job: key, pods: pods.length, why }, 'deleted job pods');
    return pods.length;
  }

  /** The pods this Job owns, after adopting orphans its selector matches. */
  private async claimPods(job: KubeObject): Promise<KubeObject[]> {
    const uid = uidOf(job);
    const selector = selectorOf(job);
    const owned: KubeObject[] = [];
    const candidates = new Map([...(this.pods?.ownedBy(uid) ?? []), ...(this.pods?.orphansIn(namespaceOf(job)) ?? [])].map((pod) => [keyOf(pod), pod] as const));
    let ownerChecked = false;
    for (const pod of candidates.values()) {
      if (namespaceOf(pod) !== namespaceOf(job)) continue;
      const reference = controllerRefOf(pod);
      if (reference !== undefined) {
        if (reference.uid === uid) owned.push(pod);
        continue;
      }
      if (!selectorMatches(selector, metaOf(pod).labels) || isBeingDeleted(pod) || isJobFinished(job)) continue;
      if (!ownerChecked) {
        // Adopt only for the Job that still exists (a stale cache must not adopt for a deleted one).
        const live = await this.env.client.get(JOBS, namespaceOf(job), nameOf(job)).catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        });
        if (live === undefined || uidOf(live) !== uid || isBeingDeleted(live)) return owned;
        ownerChecked = true;
      }
      const meta = metaOf(pod);
      try {
        owned.push(
          await this.env.client.patch(PODS, namespaceOf(pod), nameOf(pod), {
            metadata: { ownerReferences: [...(meta.ownerReferences ?? []), controllerReference(job, 'batch/v1', 'Job')], resourceVersion: meta.resourceVersion, uid: meta.uid },
          }),
        );
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    return owned;
  }

  private async writeStatus(job: KubeObject, status: Record<string, unknown>): Promise<void> {
    const previous = statusOf(job);
    const changed = Object.entries(status).some(([field, value]) => JSON.stringify(previous[field] ?? null) !== JSON.stringify(value));
    if (!changed) return;
    try {
      await this.env.client.patch(JOBS, namespaceOf(job), nameOf(job), { status }, 'merge', 'status');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** A finished Job with ttlSecondsAfterFinished: delete it (background cascading) once the TTL is over. */
  private async expireIfDue(job: KubeObject): Promise<ReconcileResult> {
    const ttl = jobSpecOf(job).ttlSecondsAfterFinished;
    if (ttl === undefined) return DONE;
    const finishedAt = jobFinishedAtMs(job) ?? this.env.clock.now();
    const dueMs = finishedAt + ttl * 1000 - this.env.clock.now();
    if (dueMs > 0) return requeueAfter(dueMs);
    try {
      await this.env.client.delete(JOBS, namespaceOf(job), nameOf(job), { propagationPolicy: 'Background', preconditions: { uid: uidOf(job) } });
      this.env.log.debug({ job: keyOf(job), ttl }, 'deleted a finished job after its TTL');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return DONE;
  }
}

function countPods(pods: readonly KubeObject[], spec: JobSpecView): PodCounts {
  const active = pods.filter(isJobPodActive);
  const succeededPods = pods.filter(isPodSucceeded);
  const failedPods = pods.filter(isPodFailed);
  const succeededIndexes = new Set<number>();
  if (spec.indexed) {
    for (const pod of succeededPods) {
      const index = completionIndexOf(pod);
      if (index !== undefined && (spec.completions === undefined || index < spec.completions)) succeededIndexes.add(index);
    }
  }
  const failureTimes = failedPods.map((pod) => finishedAtMs(pod) ?? Date.parse(metaOf(pod).creationTimestamp ?? '')).filter((at) => Number.isFinite(at));
  return {
    active,
    succeeded: spec.indexed ? succeededIndexes.size : succeededPods.length,
    failed: failedPods.length,
    terminating: pods.filter(isJobPodTerminating).length,
    ready: active.filter(isPodReady).length,
    succeededIndexes,
    lastFailureMs: failureTimes.length === 0 ? undefined : Math.max(...failureTimes),
    restarts: active.reduce((total, pod) => total + restartsOf(pod), 0),
  };
}

/** A pod of the Job: its template, generateName `<job>-`, and for an Indexed Job its index. */
function podForJob(job: KubeObject, owner: ReturnType<typeof controllerReference>, index: number | undefined): KubeObject {
  const name = nameOf(job);
  if (index === undefined) return podFromTemplate(templateOf(job), namespaceOf(job), `${name}-`, owner);
  const indexText = String(index);
  const pod = podFromTemplate(templateOf(job), namespaceOf(job), `${name}-${indexText}-`, owner, { [JOB_COMPLETION_INDEX]: indexText });
  const meta = metaOf(pod) as { annotations?: Record<string, string> };
  meta.annotations = { ...(meta.annotations ?? {}), [JOB_COMPLETION_INDEX]: indexText };
  const spec = pod['spec'] as { hostname?: string; containers?: { env?: { name: string; value: string }[] }[] };
  spec.hostname ??= `${name}-${indexText}`;
  for (const container of spec.containers ?? []) container.env = [...(container.env ?? []), { name: 'JOB_COMPLETION_INDEX', value: indexText }];
  return pod;
}
