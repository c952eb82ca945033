// Making and ranking pods for a workload controller: a pod from a template (labels, annotations, spec,
// controller owner reference, generateName), and Kubernetes' order of which pods to delete first
// (unscheduled before scheduled, pending before running, not ready before ready, ready for less time,
// more restarts, newer).

import type { KubeObject } from '../../client/index.js';
import { fieldOf, isPodReady, metaOf, podNodeName, podPhase, podRestarts, statusOf, type OwnerReference } from './objects.js';

export function podFromTemplate(template: { readonly [field: string]: unknown }, namespace: string, generateName: string, owner: OwnerReference, extraLabels: Readonly<Record<string, string>> = {}): KubeObject {
  const metadata = fieldOf(template, 'metadata');
  const labels = { ...(fieldOf(metadata, 'labels') as Record<string, string>), ...extraLabels };
  const annotations = fieldOf(metadata, 'annotations') as Record<string, string>;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName,
      namespace,
      labels,
      ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      ownerReferences: [owner],
    },
    spec: structuredClone(fieldOf(template, 'spec')),
  };
}

const PHASE_RANK: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function readySinceMs(pod: KubeObject): number {
  const conditions = statusOf(pod)['conditions'];
  if (!Array.isArray(conditions)) return 0;
  const ready = (conditions as { type?: string; lastTransitionTime?: string }[]).find((condition) => condition.type === 'Ready');
  const ms = Date.parse(ready?.lastTransitionTime ?? '');
  return Number.isFinite(ms) ? ms : 0;
}

function createdMs(pod: KubeObject): number {
  const ms = Date.parse(metaOf(pod).creationTimestamp ?? '');
  return Number.isFinite(ms) ? ms : 0;
}

/** Negative when `a` should be deleted before `b`. */
export function compareForDeletion(a: KubeObject, b: KubeObject): number {
  const scheduled = Number(podNodeName(a) !== undefined) - Number(podNodeName(b) !== undefined);
  if (scheduled !== 0) return scheduled;
  const phase = (PHASE_RANK[podPhase(a)] ?? 0) - (PHASE_RANK[podPhase(b)] ?? 0);
  if (phase !== 0) return phase;
  const ready = Number(isPodReady(a)) - Number(isPodReady(b));
  if (ready !== 0) return ready;
  if (isPodReady(a) && isPodReady(b)) {
    const since = readySinceMs(b) - readySinceMs(a); // ready more recently goes first
    if (since !== 0) return since;
  }
  const restarts = podRestarts(b) - podRestarts(a);
  if (restarts !== 0) return restarts;
  return createdMs(b) - createdMs(a); // newer first
}
