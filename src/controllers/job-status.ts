// Pure pieces of the Job controller: reading a Job's spec (parallelism, completions, limits), which of
// its pods count as active, succeeded or failed, the completion indexes of an Indexed Job and their
// text form ("1,3-5,7"), Job conditions, and the pod failure backoff. No I/O, no clock: callers pass
// the time.

import { fieldOf, isBeingDeleted, metaOf, numberField, podPhase, specOf, statusOf, type KubeObject } from './machinery/objects.js';

/** An Indexed Job's pod index: annotation and label on each of its pods. */
export const JOB_COMPLETION_INDEX = 'batch.kubernetes.io/job-completion-index';

/** Kubernetes' pod failure backoff: 10 s, doubling per failure, at most 6 minutes. */
export const JOB_BACKOFF_BASE_MS_DEFAULT = 10_000;
export const JOB_BACKOFF_MAX_MS = 6 * 60_000;

export interface JobSpecView {
  readonly parallelism: number;
  /** Undefined: a work-queue Job (done when any pod succeeds and none is left running). */
  readonly completions: number | undefined;
  readonly backoffLimit: number;
  readonly activeDeadlineSeconds: number | undefined;
  readonly ttlSecondsAfterFinished: number | undefined;
  readonly indexed: boolean;
  readonly suspend: boolean;
  readonly restartOnFailure: boolean;
  /** podReplacementPolicy Failed: a terminating pod is replaced only once it is gone or finished. */
  readonly replaceOnlyFailed: boolean;
}

function optionalNumber(object: { readonly [field: string]: unknown }, field: string): number | undefined {
  const value = object[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function jobSpecOf(job: KubeObject): JobSpecView {
  const spec = specOf(job);
  const podSpec = fieldOf(fieldOf(spec, 'template'), 'spec');
  return {
    parallelism: numberField(spec, 'parallelism', 1),
    completions: optionalNumber(spec, 'completions'),
    backoffLimit: numberField(spec, 'backoffLimit', 6),
    activeDeadlineSeconds: optionalNumber(spec, 'activeDeadlineSeconds'),
    ttlSecondsAfterFinished: optionalNumber(spec, 'ttlSecondsAfterFinished'),
    indexed: spec['completionMode'] === 'Indexed',
    suspend: spec['suspend'] === true,
    restartOnFailure: podSpec['restartPolicy'] === 'OnFailure',
    replaceOnlyFailed: spec['podReplacementPolicy'] === 'Failed',
  };
}

// ---- pods ------------------------------------------------------------------------------------

export function isPodSucceeded(pod: KubeObject): boolean {
  return podPhase(pod) === 'Succeeded';
}

export function isPodFailed(pod: KubeObject): boolean {
  return podPhase(pod) === 'Failed';
}

/** Pending or running and not being deleted: what `status.active` counts. */
export function isJobPodActive(pod: KubeObject): boolean {
  return !isPodSucceeded(pod) && !isPodFailed(pod) && !isBeingDeleted(pod);
}

/** Being deleted but not finished: what `status.terminating` counts. */
export function isJobPodTerminating(pod: KubeObject): boolean {
  return !isPodSucceeded(pod) && !isPodFailed(pod) && isBeingDeleted(pod);
}

/** The completion index of an Indexed Job's pod (annotation), or undefined. */
export function completionIndexOf(pod: KubeObject): number | undefined {
  const text = metaOf(pod).annotations?.[JOB_COMPLETION_INDEX] ?? metaOf(pod).labels?.[JOB_COMPLETION_INDEX];
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

/** Container restarts of a pod (the OnFailure retries Kubernetes counts toward backoffLimit). */
export function restartsOf(pod: KubeObject): number {
  const status = statusOf(pod);
  let total = 0;
  for (const list of ['containerStatuses', 'initContainerStatuses']) {
    const statuses = status[list];
    if (Array.isArray(statuses)) for (const entry of statuses as { restartCount?: unknown }[]) total += typeof entry.restartCount === 'number' ? entry.restartCount : 0;
  }
  return total;
}

/** When a finished pod finished (its latest container finishedAt), in ms; undefined when unknown. */
export function finishedAtMs(pod: KubeObject): number | undefined {
  const statuses = statusOf(pod)['containerStatuses'];
  let latest: number | undefined;
  if (Array.isArray(statuses)) {
    for (const entry of statuses as { state?: { terminated?: { finishedAt?: string } } }[]) {
      const at = Date.parse(entry.state?.terminated?.finishedAt ?? '');
      if (Number.isFinite(at)) latest = Math.max(latest ?? at, at);
    }
  }
  return latest;
}

/** How long to wait after the `failures`-th failure before replacing the pod (0 for none). */
export function backoffDelayMs(failures: number, baseMs: number): number {
  if (failures <= 0 || baseMs <= 0) return 0;
  return Math.min(JOB_BACKOFF_MAX_MS, baseMs * 2 ** Math.min(failures - 1, 30));
}

// ---- indexes ---------------------------------------------------------------------------------

/** Kubernetes' completedIndexes text: sorted, runs of three or more… as "a-b" (e.g. "1,3-5,7"). */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let start = 0; start < sorted.length; ) {
    let end = start;
    while (end + 1 < sorted.length && sorted[end + 1] === (sorted[end] ?? 0) + 1) end++;
    const first = sorted[start] ?? 0;
    const last = sorted[end] ?? 0;
    parts.push(first === last ? String(first) : `${first}-${last}`);
    start = end + 1;
  }
  return parts.join(',');
}

/** The indexes in [0, completions) not succeeded and not being worked on, lowest first. */
export function pendingIndexes(completions: number, succeeded: ReadonlySet<number>, running: ReadonlySet<number>, limit: number): number[] {
  const out: number[] = [];
  for (let index = 0; index < completions && out.length < limit; index++) {
    if (!succeeded.has(index) && !running.has(index)) out.push(index);
  }
  return out;
}

// ---- conditions ------------------------------------------------------------------------------

export interface JobCondition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason?: string;
  readonly message?: string;
  readonly lastProbeTime?: string;
  readonly lastTransitionTime?: string;
}

export function conditionsOf(job: KubeObject): JobCondition[] {
  const conditions = statusOf(job)['conditions'];
  return Array.isArray(conditions) ? (conditions as JobCondition[]).filter((entry) => typeof entry === 'object' && entry !== null) : [];
}

export function hasCondition(job: KubeObject, type: string): boolean {
  return conditionsOf(job).some((condition) => condition.type === type && condition.status === 'True');
}

/** Complete or Failed: nothing more is done for the Job but its TTL. */
export function isJobFinished(job: KubeObject): boolean {
  return hasCondition(job, 'Complete') || hasCondition(job, 'Failed');
}

/** When a finished Job finished (completionTime, else the Failed condition's time), in ms. */
export function jobFinishedAtMs(job: KubeObject): number | undefined {
  const completion = Date.parse(String(statusOf(job)['completionTime'] ?? ''));
  if (Number.isFinite(completion)) return completion;
  const failed = conditionsOf(job).find((condition) => condition.type === 'Failed' && condition.status === 'True');
  const at = Date.parse(failed?.lastTransitionTime ?? '');
  return Number.isFinite(at) ? at : undefined;
}

/**
 * The conditions with `type` set to status/reason/message: the transition time changes only when the
 * status does (Kubernetes' updateJobCondition); a condition absent with status False is not added.
 */
export function withCondition(conditions: readonly JobCondition[], type: string, status: 'True' | 'False', reason: string, message: string, now: string): JobCondition[] {
  const existing = conditions.find((condition) => condition.type === type);
  if (existing === undefined) {
    if (status === 'False') return [...conditions];
    return [...conditions, { type, status, reason, message, lastProbeTime: now, lastTransitionTime: now }];
  }
  if (existing.status === status && existing.reason === reason && existing.message === message) return [...conditions];
  const transition = existing.status === status ? (existing.lastTransitionTime ?? now) : now;
  return conditions.map((condition) => (condition === existing ? { type, status, reason, message, lastProbeTime: now, lastTransitionTime: transition } : condition));
}
