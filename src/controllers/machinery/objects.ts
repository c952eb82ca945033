// Small typed views of the objects controllers read (pods, workloads, owner references) and the
// predicates they share: is a pod active, ready, available; which owner reference is the controller.
// Objects stay plain JSON (KubeObject); these functions only read them.

import { metaOf, type KubeObject, type OwnerReference } from '../../client/index.js';
import type { LabelSelector } from './labels.js';

export type { KubeObject, OwnerReference };
export { metaOf };

type Json = { readonly [field: string]: unknown };

export function fieldOf(object: Json, name: string): Json {
  const value = object[name];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

export function specOf(object: KubeObject): Json {
  return fieldOf(object, 'spec');
}

export function statusOf(object: KubeObject): Json {
  return fieldOf(object, 'status');
}

export function numberField(object: Json, name: string, fallback: number): number {
  const value = object[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

export function stringField(object: Json, name: string): string | undefined {
  const value = object[name];
  return typeof value === 'string' ? value : undefined;
}

export function nameOf(object: KubeObject): string {
  return metaOf(object).name ?? '';
}

export function namespaceOf(object: KubeObject): string {
  return metaOf(object).namespace ?? '';
}

export function uidOf(object: KubeObject): string {
  return metaOf(object).uid ?? '';
}

/** The queue key of an object: "namespace/name", or "name" for cluster-scoped ones. */
export function keyOf(object: KubeObject): string {
  const namespace = namespaceOf(object);
  return namespace === '' ? nameOf(object) : `${namespace}/${nameOf(object)}`;
}

export function splitKey(key: string): { readonly namespace: string | undefined; readonly name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function isBeingDeleted(object: KubeObject): boolean {
  return metaOf(object).deletionTimestamp !== undefined;
}

export function controllerRefOf(object: KubeObject): OwnerReference | undefined {
  return metaOf(object).ownerReferences?.find((reference) => reference.controller === true);
}

export function selectorOf(object: KubeObject): LabelSelector {
  return fieldOf(specOf(object), 'selector') as LabelSelector;
}

export function templateOf(object: KubeObject): Json {
  return fieldOf(specOf(object), 'template');
}

/** An owner reference naming `owner` as the controller (blockOwnerDeletion set, as Kubernetes' controllers do). */
export function controllerReference(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: nameOf(owner), uid: uidOf(owner), controller: true, blockOwnerDeletion: true };
}

// ---- pods ------------------------------------------------------------------------------------

export function podPhase(pod: KubeObject): string {
  return stringField(statusOf(pod), 'phase') ?? 'Pending';
}

/** Not finished (Succeeded/Failed) and not being deleted: the pods a ReplicaSet counts. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed' && !isBeingDeleted(pod);
}

/** Not finished: a pod that still occupies a place, terminating or not (invariant 5 counts these). */
export function isPodPresent(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed';
}

interface PodCondition {
  readonly type?: string;
  readonly status?: string;
  readonly lastTransitionTime?: string;
}

function readyCondition(pod: KubeObject): PodCondition | undefined {
  const conditions = statusOf(pod)['conditions'];
  if (!Array.isArray(conditions)) return undefined;
  return (conditions as PodCondition[]).find((condition) => condition.type === 'Ready');
}

export function isPodReady(pod: KubeObject): boolean {
  return readyCondition(pod)?.status === 'True';
}

/** Ready for at least minReadySeconds (by the Ready condition's lastTransitionTime), and not terminating. */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodActive(pod) || !isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse(readyCondition(pod)?.lastTransitionTime ?? '');
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= nowMs;
}

/** When a ready pod that is not yet available becomes available (ms), or undefined. */
export function podAvailableAtMs(pod: KubeObject, minReadySeconds: number): number | undefined {
  if (!isPodActive(pod) || !isPodReady(pod) || minReadySeconds <= 0) return undefined;
  const since = Date.parse(readyCondition(pod)?.lastTransitionTime ?? '');
  return Number.isFinite(since) ? since + minReadySeconds * 1000 : undefined;
}

export function podNodeName(pod: KubeObject): string | undefined {
  const node = specOf(pod)['nodeName'];
  return typeof node === 'string' && node !== '' ? node : undefined;
}

export function podRestarts(pod: KubeObject): number {
  const statuses = statusOf(pod)['containerStatuses'];
  if (!Array.isArray(statuses)) return 0;
  return (statuses as Json[]).reduce((total, status) => total + numberField(status, 'restartCount', 0), 0);
}

/** The timestamp the API server writes (RFC 3339, seconds). */
export function timestampOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
