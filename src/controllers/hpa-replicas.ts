// The HorizontalPodAutoscaler's arithmetic as plain functions (no I/O, no clock): the replica count CPU
// utilization asks for (Kubernetes' replica calculator for a Resource metric: tolerance 0.1, missing
// metrics and unready pods counted against the direction of the change), and the default autoscaling/v2
// behaviour every v1 autoscaler gets (scale-down stabilised over 5 minutes of recommendations; scale-up
// at most max(100 %, 4 pods) per sync; the result within [minReplicas, maxReplicas]).

/** Within ±10 % of the target nothing changes (kube-controller-manager's --horizontal-pod-autoscaler-tolerance). */
export const CPU_TOLERANCE = 0.1;
/** The target when an autoscaling/v1 object names none (Kubernetes' default policy). */
export const DEFAULT_TARGET_CPU_PERCENT = 80;
/** Scale-down takes the highest recommendation of this window (the default behaviour's stabilization). */
export const SCALE_DOWN_STABILIZATION_MS = 300_000;
/** Scale-up per sync: at most double, or four more, whichever is larger (the default behaviour's policies). */
export const SCALE_UP_PODS = 4;
export const SCALE_UP_PERCENT = 100;

/** One pod as the calculator sees it. */
export interface PodSample {
  readonly name: string;
  /** Being deleted or Failed: left out altogether. */
  readonly ignored: boolean;
  /** Pending, or not Ready: its metric does not count for a scale-up. */
  readonly unready: boolean;
  /** Sum of its containers' CPU requests, or undefined when a container has none. */
  readonly requestMillis: number | undefined;
  /** The container named first without a CPU request (for the message). */
  readonly containerWithoutRequest?: string;
}

export type CpuRecommendation =
  | { readonly ok: true; readonly replicas: number; readonly utilizationPercent: number }
  | { readonly ok: false; readonly message: string };

function utilizationOf(usage: ReadonlyMap<string, number>, requests: ReadonlyMap<string, number>): number {
  let usageTotal = 0;
  let requestTotal = 0;
  for (const [name, millis] of usage) {
    usageTotal += millis;
    requestTotal += requests.get(name) ?? 0;
  }
  return requestTotal === 0 ? 0 : Math.floor((usageTotal * 100) / requestTotal);
}

/**
 * The replicas CPU utilization asks for: `usageMillis` has each pod's current CPU (pods absent from it
 * have no metric). Errors as Kubernetes words them, for the FailedGetResourceMetric event.
 */
export function cpuReplicas(current: number, targetPercent: number, pods: readonly PodSample[], usageMillis: ReadonlyMap<string, number>): CpuRecommendation {
  if (pods.length === 0) return { ok: false, message: 'no pods returned by selector while calculating replica count' };
  const requests = new Map<string, number>();
  for (const pod of pods) {
    if (pod.ignored) continue;
    if (pod.requestMillis === undefined) return { ok: false, message: `missing request for cpu in container ${pod.containerWithoutRequest ?? ''} of Pod ${pod.name}` };
    requests.set(pod.name, pod.requestMillis);
  }
  const metrics = new Map<string, number>();
  const missing: string[] = [];
  const unready: string[] = [];
  for (const pod of pods) {
    if (pod.ignored) continue;
    const usage = usageMillis.get(pod.name);
    if (pod.unready) unready.push(pod.name);
    else if (usage === undefined) missing.push(pod.name);
    else metrics.set(pod.name, usage);
  }
  if (metrics.size === 0) return { ok: false, message: 'did not receive metrics for targeted pods (pods might be unready)' };
  const utilizationPercent = utilizationOf(metrics, requests);
  const ratio = utilizationPercent / targetPercent;
  const scaleUpWithUnready = unready.length > 0 && ratio > 1;
  if (!scaleUpWithUnready && missing.length === 0) {
    if (Math.abs(1 - ratio) <= CPU_TOLERANCE) return { ok: true, replicas: current, utilizationPercent };
    return { ok: true, replicas: Math.ceil(ratio * metrics.size), utilizationPercent };
  }
  // Assume the worst for the change: pods without a metric use all of their request when scaling down
  // (at least the target), nothing when scaling up; unready pods nothing when scaling up.
  const assumed = new Map(metrics);
  for (const name of missing) {
    const request = requests.get(name) ?? 0;
    if (ratio < 1) assumed.set(name, Math.floor((request * Math.max(100, targetPercent)) / 100));
    else if (ratio > 1) assumed.set(name, 0);
  }
  if (scaleUpWithUnready) for (const name of unready) assumed.set(name, 0);
  const newRatio = utilizationOf(assumed, requests) / targetPercent;
  if (Math.abs(1 - newRatio) <= CPU_TOLERANCE || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1)) return { ok: true, replicas: current, utilizationPercent };
  const replicas = Math.ceil(newRatio * assumed.size);
  if ((newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current)) return { ok: true, replicas: current, utilizationPercent };
  return { ok: true, replicas, utilizationPercent };
}

/** A recommendation made at a time (kept per autoscaler for the scale-down window). */
export interface TimedRecommendation {
  readonly atMs: number;
  readonly replicas: number;
}

export interface Normalized {
  readonly desired: number;
  /** The recommendations to keep (those still inside the window, the new one included). */
  readonly history: TimedRecommendation[];
}

/**
 * The default behaviour applied to a recommendation: a scale-down goes only as low as the highest
 * recommendation of the last 5 minutes; a scale-up at most to max(2 × current, current + 4); then the
 * bounds.
 */
export function normalizeReplicas(current: number, recommended: number, minimum: number, maximum: number, nowMs: number, history: readonly TimedRecommendation[]): Normalized {
  const kept = [...history.filter((entry) => nowMs - entry.atMs < SCALE_DOWN_STABILIZATION_MS), { atMs: nowMs, replicas: recommended }];
  let desired = recommended;
  if (recommended < current) desired = Math.min(current, Math.max(...kept.map((entry) => entry.replicas)));
  if (desired > current) desired = Math.min(desired, Math.max(current + Math.ceil((current * SCALE_UP_PERCENT) / 100), current + SCALE_UP_PODS));
  return { desired: Math.min(maximum, Math.max(minimum, desired)), history: kept };
}
