// The HorizontalPodAutoscaler controller (autoscaling/v1). kplane serves no metrics API
// (metrics.k8s.io), so it cannot scale on CPU: it does what Kubernetes' controller does before it
// reads metrics, and what it says when metrics-server is missing. Every sync period (15 s, as
// kube-controller-manager's --horizontal-pod-autoscaler-sync-period) it reads the target's scale
// subresource (any kind that has one, found through discovery), raises replicas below minReplicas to
// minReplicas and lowers replicas above maxReplicas to maxReplicas (event SuccessfulRescale); within
// the range it records the Warning FailedGetResourceMetric and leaves replicas alone. A target at 0
// replicas is left at 0 (Kubernetes: scaling is disabled then). Status: currentReplicas,
// desiredReplicas, lastScaleTime, observedGeneration; currentCPUUtilizationPercentage stays unset, so
// `kubectl get hpa` shows TARGETS `cpu: <unknown>/80%`.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { ApiClientError, isNotFound, type ApiClient, type KubeObject, type ResourceType } from '../client/index.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { isBeingDeleted, keyOf, metaOf, nameOf, namespaceOf, numberField, specOf, splitKey, statusOf, timestampOf } from './machinery/objects.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';

export const HORIZONTALPODAUTOSCALERS: ResourceType = { group: 'autoscaling', version: 'v1', resource: 'horizontalpodautoscalers', kind: 'HorizontalPodAutoscaler', namespaced: true };
/** How often each autoscaler looks at its target again (Kubernetes' default sync period). */
export const HPA_SYNC_PERIOD_MS = 15_000;
/** How long a discovery answer (kind → resource) is trusted before it is asked again. */
export const DISCOVERY_CACHE_MS = 60_000;
/** What Kubernetes says when the resource metrics API (metrics-server) is not there. */
export const METRICS_UNAVAILABLE_MESSAGE =
  'failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)';

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
    if (autoscaler === undefined || namespace === undefined || isBeingDeleted(autoscaler)) return DONE;
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
    const { desired, reason } = replicasWithinBounds(current, minimum, maximum);
    let scaledAt: string | undefined;
    if (desired !== current && reason !== undefined) {
      // The Scale's resourceVersion makes this a compare-and-swap: a conflict retries with a fresh read.
      await this.env.client.update(type, { ...scale, spec: { ...specOf(scale), replicas: desired } }, 'scale');
      scaledAt = timestampOf(this.env.clock.now());
      void this.env.events?.record(HORIZONTALPODAUTOSCALERS, autoscaler, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
    } else if (current !== 0) {
      // Within bounds the next step would read CPU metrics: there is no metrics API to read them from.
      void this.env.events?.record(HORIZONTALPODAUTOSCALERS, autoscaler, 'Warning', 'FailedGetResourceMetric', METRICS_UNAVAILABLE_MESSAGE);
      void this.env.events?.record(
        HORIZONTALPODAUTOSCALERS,
        autoscaler,
        'Warning',
        'FailedComputeMetricsReplicas',
        `invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: ${METRICS_UNAVAILABLE_MESSAGE}`,
      );
    }
    await this.writeStatus(autoscaler, current, desired, scaledAt);
    return requeueAfter(HPA_SYNC_PERIOD_MS);
  }

  private async writeStatus(autoscaler: KubeObject, current: number, desired: number, scaledAt: string | undefined): Promise<void> {
    const status: Record<string, unknown> = { observedGeneration: metaOf(autoscaler).generation ?? 0, currentReplicas: current, desiredReplicas: desired };
    if (scaledAt !== undefined) status['lastScaleTime'] = scaledAt;
    const previous = statusOf(autoscaler);
    if (Object.entries(status).every(([field, value]) => previous[field] === value)) return;
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
