// The HorizontalPodAutoscaler controller (autoscaling/v1). Every sync period (15 s, as
// kube-controller-manager's --horizontal-pod-autoscaler-sync-period), and at once when the spec
// changes, it reads the target's scale subresource (any kind that has one, found through discovery).
// Replicas below minReplicas are raised to it and above maxReplicas lowered to it (SuccessfulRescale);
// a target at 0 is left alone (Kubernetes: scaling is disabled then). Within the bounds it reads the
// CPU usage of the pods the scale's selector picks from the resource metrics API (metrics.k8s.io,
// served from the node agents' figures) and scales to what the target utilization asks for
// (hpa-replicas.ts: tolerance, stabilization, scale-up limits). When the metrics API cannot answer
// (an API server that reaches no node agents) it records FailedGetResourceMetric, as Kubernetes does
// without metrics-server, and leaves replicas alone. Status: currentReplicas, desiredReplicas,
// lastScaleTime, currentCPUUtilizationPercentage (unset without metrics: TARGETS `<unknown>/80%`),
// observedGeneration.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { ApiClientError, isNotFound, PODS, type ApiClient, type KubeObject, type ResourceType } from '../client/index.js';
import { parseMillis, quantityText } from '../scheduler/quantity.js';
import { cpuReplicas, DEFAULT_TARGET_CPU_PERCENT, normalizeReplicas, type PodSample, type TimedRecommendation } from './hpa-replicas.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { isBeingDeleted, isPodReady, keyOf, metaOf, nameOf, namespaceOf, numberField, podPhase, specOf, splitKey, statusOf, stringField, timestampOf } from './machinery/objects.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';

export const HORIZONTALPODAUTOSCALERS: ResourceType = { group: 'autoscaling', version: 'v1', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true };
/** How often each autoscaler looks at its target again (Kubernetes' default sync period). */
export const HPA_SYNC_PERIOD_MS = 15_000;
/** How long a discovery answer (kind → resource) is trusted before it is asked again. */
export const DISCOVERY_CACHE_MS = 60_000;
/** What Kubernetes says when the resource metrics API cannot be read (the reason follows). */
export const METRICS_UNAVAILABLE_PREFIX = 'failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: ';
/** ... and the reason when the group is not served at all (no metrics-server). */
export const METRICS_NOT_SERVED_MESSAGE = `${METRICS_UNAVAILABLE_PREFIX}the server could not find the requested resource (get pods.metrics.k8s.io)`;
const SCALE_UP_REASON = 'cpu resource utilization (percentage of request) above target';
const SCALE_DOWN_REASON = 'All metrics below target';

export interface HorizontalPodAutoscalerControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

interface ScaleTargetReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
}

interface Discovered {
  readonly atMs: number;
  readonly resources: readonly { readonly name: string; readonly kind: string; readonly namespaced: boolean }[];
}

/** The desired replicas for a target at `current` within [minimum, maximum], and why, before any metric. */
export function replicasWithinBounds(current: number, minimum: number, maximum: number): { readonly desired: number; readonly reason: string | undefined } {
  if (current === 0 && minimum !== 0) return { desired: 0, reason: undefined }; // scaling is disabled
  if (current > maximum) return { desired: maximum, reason: 'Current number of replicas above Spec.MaxReplicas' };
  if (current < minimum) return { desired: minimum, reason: 'Current number of replicas below Spec.MinReplicas' };
  return { desired: current, reason: undefined };
}

export class HorizontalPodAutoscalerController implements Controller {
  readonly name = 'horizontal-pod-autoscaler';
  private autoscalers: SharedInformer | undefined;
  private readonly discovery = new Map<string, Discovered>();
  /** Each autoscaler's recent recommendations (the scale-down stabilization window), by key. */
  private readonly recommendations = new Map<string, TimedRecommendation[]>();

  constructor(private readonly env: HorizontalPodAutoscalerControllerEnv) {}

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const autoscalers = (this.autoscalers = factory.informerFor(HORIZONTALPODAUTOSCALERS));
    const registration = autoscalers.addHandlers({
      onAdd: (object) => enqueue(keyOf(object)),
      // Our own status writes come back as updates: only a spec change (a new generation) needs a sync now.
      onUpdate: (previous, object) => {
        if (metaOf(previous).generation !== metaOf(object).generation) enqueue(keyOf(object));
      },
      onDelete: (object) => enqueue(keyOf(object)),
    });
    return () => registration.remove();
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const autoscaler = this.autoscalers?.get(namespace, name);
    if (autoscaler === undefined || namespace === undefined || isBeingDeleted(autoscaler)) {
      this.recommendations.delete(key);
      return DONE;
    }
    const spec = specOf(autoscaler);
    const minimum = numberField(spec, 'minReplicas', 1);
    const maximum = numberField(spec, 'maxReplicas', minimum);
    const reference = referenceOf(spec['scaleTargetRef']);
    const type = reference === undefined ? 'spec.scaleTargetRef is missing' : await this.scaleTypeFor(reference);
    if (typeof type === 'string' || reference === undefined) {
      void this.env.events?.record(HORIZONTALPODAUTOSCALERS, autoscaler, 'Warning', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${String(type)}`);
      return requeueAfter(HPA_SYNC_PERIOD_MS);
    }
    let scale: KubeObject;
    try {
      scale = await this.env.client.get(type, namespace, reference.name, 'scale');
    } catch (error) {
      if (!(error instanceof ApiClientError)) throw error;
      void this.env.events?.record(HORIZONTALPODAUTOSCALERS, autoscaler, 'Warning', 'FailedGetScale', `the HPA controller was unable to get the target's current scale: ${error.message}`);
      return requeueAfter(HPA_SYNC_PERIOD_MS);
    }
    const current = numberField(specOf(scale), 'replicas', 0);
    const bounded = replicasWithinBounds(current, minimum, maximum);
    let desired = bounded.desired;
    let reason = bounded.reason;
    let utilizationPercent: number | undefined;
    if (reason === undefined && current !== 0) {
      // Within the bounds: what does CPU utilization ask for?
      const targetPercent = numberField(spec, 'targetCPUUtilizationPercentage', DEFAULT_TARGET_CPU_PERCENT);
      const recommendation = await this.cpuRecommendation(namespace, current, targetPercent, scale);
      if (recommendation.ok) {
        utilizationPercent = recommendation.utilizationPercent;
        const normalized = normalizeReplicas(current, recommendation.replicas, minimum, maximum, this.env.clock.now(), this.recommendations.get(key) ?? []);
        this.recommendations.set(key, normalized.history);
        desired = normalized.desired;
        reason = desired > current ? SCALE_UP_REASON : SCALE_DOWN_REASON;
      } else {
        void this.env.events?.record(HORIZONTALPODAUTOSCALERS, autoscaler, 'Warning', 'FailedGetResourceMetric', recommendation.message);
        void this.env.events?.record(
          HORIZONTALPODAUTOSCALERS,
          autoscaler,
          'Warning',
          'FailedComputeMetricsReplicas',
          `invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: ${recommendation.message}`,
        );
      }
    }
    let scaledAt: string | undefined;
    if (desired !== current && reason !== undefined) {
      // The Scale's resourceVersion makes this a compare-and-swap: a conflict retries with a fresh read.
      await this.env.client.update(type, { ...scale, spec: { ...specOf(scale), replicas: desired } }, 'scale');
      scaledAt = timestampOf(this.env.clock.now());
      void this.env.events?.record(HORIZONTALPODAUTOSCALERS, autoscaler, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
    }
    await this.writeStatus(autoscaler, current, desired, scaledAt, utilizationPercent);
    return requeueAfter(HPA_SYNC_PERIOD_MS);
  }

  /** The replicas the target's CPU utilization asks for, or why it cannot be known. */
  private async cpuRecommendation(namespace: string, current: number, targetPercent: number, scale: KubeObject): Promise<{ ok: true; replicas: number; utilizationPercent: number } | { ok: false; message: string }> {
    const selector = stringField(statusOf(scale), 'selector') ?? '';
    if (selector === '') return { ok: false, message: 'selector is required' };
    const pods = (await this.env.client.list(PODS, { namespace, labelSelector: selector })).items;
    const answer = await this.env.client.transport.call({ method: 'GET', path: `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/pods`, query: new URLSearchParams({ labelSelector: selector }).toString() });
    if (answer.status === 404) return { ok: false, message: METRICS_NOT_SERVED_MESSAGE };
    if (answer.status < 200 || answer.status >= 300) {
      const message = typeof answer.body === 'object' && answer.body !== null ? (answer.body as { message?: unknown }).message : undefined;
      return { ok: false, message: `${METRICS_UNAVAILABLE_PREFIX}${typeof message === 'string' ? message : `status ${answer.status}`}` };
    }
    return cpuReplicas(current, targetPercent, pods.map(podSample), cpuUsageByPod(answer.body));
  }
  private async writeStatus(autoscaler: KubeObject, current: number, desired: number, scaledAt: string | undefined, utilizationPercent: number | undefined): Promise<void> {
    const status: Record<string, unknown> = { observedGeneration: metaOf(autoscaler).generation ?? 0, currentReplicas: current, desiredReplicas: desired };
    if (scaledAt !== undefined) status['lastScaleTime'] = scaledAt;
    // Cleared (merge-patch null) while there are no figures, so TARGETS shows <unknown> again.
    status['currentCPUUtilizationPercentage'] = utilizationPercent ?? null;
    const previous = statusOf(autoscaler);
    if (Object.entries(status).every(([field, value]) => (previous[field] ?? null) === value)) return;
    try {
      await this.env.client.patch(HORIZONTALPODAUTOSCALERS, namespaceOf(autoscaler), nameOf(autoscaler), { status }, 'merge', 'status');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** The resource type of the target's kind (from discovery), or why there is none with a scale subresource. */
  private async scaleTypeFor(reference: ScaleTargetReference): Promise<ResourceType | string> {
    const [group, version] = reference.apiVersion.includes('/') ? (reference.apiVersion.split('/', 2) as [string, string]) : ['', reference.apiVersion];
    const discovered = await this.discover(group, version);
    const resource = discovered?.resources.find((entry) => entry.kind === reference.kind && !entry.name.includes('/'));
    if (resource === undefined) return `no matches for kind "${reference.kind}" in group "${group}"`;
    if (!discovered?.resources.some((entry) => entry.name === `${resource.name}/scale`)) return `${resource.name}.${group} has no scale subresource`;
    return { group, version, resource: resource.name, kind: reference.kind, namespaced: resource.namespaced };
  }

  private async discover(group: string, version: string): Promise<Discovered | undefined> {
    const groupVersion = group === '' ? version : `${group}/${version}`;
    const now = this.env.clock.now();
    const cached = this.discovery.get(groupVersion);
    if (cached !== undefined && now - cached.atMs < DISCOVERY_CACHE_MS) return cached;
    const answer = await this.env.client.transport.call({ method: 'GET', path: group === '' ? `/api/${version}` : `/apis/${group}/${version}` });
    if (answer.status === 404) return undefined;
    if (answer.status < 200 || answer.status >= 300) throw new ApiClientError(answer.status, answer.body);
    const body = answer.body as { resources?: unknown };
    const resources = (Array.isArray(body.resources) ? body.resources : []).flatMap((entry: unknown) => {
      if (typeof entry !== 'object' || entry === null) return [];
      const { name, kind, namespaced } = entry as { name?: unknown; kind?: unknown; namespaced?: unknown };
      return typeof name === 'string' && typeof kind === 'string' ? [{ name, kind, namespaced: namespaced === true }] : [];
    });
    const entry: Discovered = { atMs: now, resources };
    this.discovery.set(groupVersion, entry);
    return entry;
  }
}

function referenceOf(value: unknown): ScaleTargetReference | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { apiVersion, kind, name } = value as { apiVersion?: unknown; kind?: unknown; name?: unknown };
  if (typeof kind !== 'string' || typeof name !== 'string') return undefined;
  // kubectl autoscale always names the version; an old object without one most likely means apps/v1.
  return { apiVersion: typeof apiVersion === 'string' && apiVersion !== '' ? apiVersion : 'apps/v1', kind, name };
}

/** A pod as the replica calculator sees it: left out, unready, and its summed CPU requests. */
function podSample(pod: KubeObject): PodSample {
  const phase = podPhase(pod);
  let requestMillis: number | undefined = 0;
  let containerWithoutRequest: string | undefined;
  const containers = specOf(pod)['containers'];
  for (const container of Array.isArray(containers) ? (containers as { name?: unknown; resources?: { requests?: Record<string, unknown> } }[]) : []) {
    const text = quantityText(container.resources?.requests?.['cpu']);
    const millis = text === undefined ? undefined : safeMillis(text);
    if (millis === undefined) {
      requestMillis = undefined;
      containerWithoutRequest ??= typeof container.name === 'string' ? container.name : '';
    } else if (requestMillis !== undefined) requestMillis += millis;
  }
  return {
    name: nameOf(pod),
    ignored: isBeingDeleted(pod) || phase === 'Failed',
    unready: phase === 'Pending' || !isPodReady(pod),
    requestMillis,
    ...(containerWithoutRequest === undefined ? {} : { containerWithoutRequest }),
  };
}

function safeMillis(text: string): number | undefined {
  try {
    return parseMillis(text);
  } catch {
    return undefined;
  }
}

/** Each pod's CPU usage (millicores, summed over containers) from a PodMetricsList. */
function cpuUsageByPod(body: unknown): Map<string, number> {
  const usage = new Map<string, number>();
  const items = typeof body === 'object' && body !== null ? (body as { items?: unknown }).items : undefined;
  for (const item of Array.isArray(items) ? (items as { metadata?: { name?: unknown }; containers?: unknown }[]) : []) {
    const name = item.metadata?.name;
    if (typeof name !== 'string' || !Array.isArray(item.containers)) continue;
    let total = 0;
    for (const container of item.containers as { usage?: { cpu?: unknown } }[]) total += safeMillis(quantityText(container.usage?.cpu) ?? '0') ?? 0;
    usage.set(name, total);
  }
  return usage;
}
