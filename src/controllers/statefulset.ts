// The StatefulSet controller: pods with stable names `<set>-<ordinal>` (hostname = name, subdomain =
// serviceName). OrderedReady (default): pods are created in ordinal order, each only once every lower one
// is Running and Ready, and removed in reverse order, one at a time. Parallel: all at once, no waiting.
// RollingUpdate replaces pods whose revision differs from the update revision from the highest ordinal
// down to `partition`, one at a time, each waiting for the previous to be Running and Ready; OnDelete
// replaces a pod only when someone deletes it. Revisions are `<set>-<template hash>`, carried by each pod's
// `controller-revision-hash` label (there are no ControllerRevision objects yet: a pod below the
// partition that must be recreated at the current revision copies the spec of a sibling at that
// revision, or takes the update template when none is left). No expectations are needed: names are
// fixed, so a create from a stale cache is an AlreadyExists, and deletes carry the pod's uid.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { isAlreadyExists, isConflict, isNotFound, PODS, STATEFULSETS, type ApiClient, type KubeObject } from '../client/index.js';
import { podTemplateHash } from './deployment-plan.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { selectorMatches } from './machinery/labels.js';
import {
  controllerRefOf,
  controllerReference,
  fieldOf,
  isBeingDeleted,
  isPodAvailable,
  keyOf,
  metaOf,
  nameOf,
  namespaceOf,
  numberField,
  podPhase,
  selectorOf,
  specOf,
  splitKey,
  statusOf,
  stringField,
  templateOf,
  uidOf,
} from './machinery/objects.js';
import { podFromTemplate } from './machinery/pod-control.js';
import { DONE, type Controller, type ReconcileResult } from './machinery/reconcile.js';

export const STATEFUL_REVISION_LABEL = 'controller-revision-hash';
export const STATEFUL_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const STATEFUL_POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export interface StatefulSetControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

function ordinalOf(set: KubeObject, pod: KubeObject): number | undefined {
  const prefix = `${nameOf(set)}-`;
  const name = nameOf(pod);
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

function revisionOfPod(pod: KubeObject): string {
  return metaOf(pod).labels?.[STATEFUL_REVISION_LABEL] ?? '';
}

export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  private sets: SharedInformer | undefined;
  private pods: SharedInformer | undefined;

  constructor(private readonly env: StatefulSetControllerEnv) {}

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const sets = (this.sets = factory.informerFor(STATEFULSETS));
    const pods = (this.pods = factory.informerFor(PODS));
    const onPod = (pod: KubeObject): void => {
      const reference = controllerRefOf(pod);
      if (reference?.kind !== 'StatefulSet') return;
      const owner = sets.get(namespaceOf(pod), reference.name);
      if (owner !== undefined && uidOf(owner) === reference.uid) enqueue(keyOf(owner));
    };
    const registrations = [
      sets.addHandlers({ onAdd: (s) => enqueue(keyOf(s)), onUpdate: (_p, s) => enqueue(keyOf(s)), onDelete: (s) => enqueue(keyOf(s)) }),
      pods.addHandlers({ onAdd: onPod, onUpdate: (_p, pod) => onPod(pod), onDelete: onPod }),
    ];
    return () => {
      for (const registration of registrations) registration.remove();
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const set = this.sets?.get(namespace, name);
    if (set === undefined || namespace === undefined) return DONE;
    const spec = specOf(set);
    const replicas = numberField(spec, 'replicas', 1);
    const updateRevision = `${nameOf(set)}-${podTemplateHash(templateOf(set), 0)}`;
    const currentRevision = stringField(statusOf(set), 'currentRevision') ?? updateRevision;
    const pods = (this.pods?.ownedBy(uidOf(set)) ?? []).filter((pod) => controllerRefOf(pod)?.uid === uidOf(set) && selectorMatches(selectorOf(set), metaOf(pod).labels));
    const byOrdinal = new Map<number, KubeObject>();
    for (const pod of pods) {
      const ordinal = ordinalOf(set, pod);
      if (ordinal !== undefined) byOrdinal.set(ordinal, pod);
    }
    if (!isBeingDeleted(set)) await this.step(set, replicas, byOrdinal, currentRevision, updateRevision);
    await this.writeStatus(set, replicas, byOrdinal, currentRevision, updateRevision);
    return DONE;
  }

  private healthy(set: KubeObject, pod: KubeObject): boolean {
    return podPhase(pod) === 'Running' && isPodAvailable(pod, numberField(specOf(set), 'minReadySeconds', 0), this.env.clock.now());
  }

  /** One pass of the ordered algorithm: returns as soon as OrderedReady must wait. */
  private async step(set: KubeObject, replicas: number, byOrdinal: ReadonlyMap<number, KubeObject>, currentRevision: string, updateRevision: string): Promise<void> {
    const spec = specOf(set);
    const ordered = (stringField(spec, 'podManagementPolicy') ?? 'OrderedReady') === 'OrderedReady';
    const strategy = fieldOf(spec, 'updateStrategy');
    const rolling = (stringField(strategy, 'type') ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = rolling ? numberField(fieldOf(strategy, 'rollingUpdate'), 'partition', 0) : 0;
    // 1. Pods 0..replicas-1: make the missing, replace the failed, wait for the unhealthy.
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const pod = byOrdinal.get(ordinal);
      if (pod === undefined) {
        const revision = rolling && ordinal < partition ? currentRevision : updateRevision;
        await this.createPod(set, ordinal, revision, updateRevision, byOrdinal);
        if (ordered) return;
        continue;
      }
      if (podPhase(pod) === 'Failed' && !isBeingDeleted(pod)) {
        await this.deletePod(set, pod, 'RecreatingFailedPod');
        if (ordered) return;
        continue;
      }
      if (ordered && (isBeingDeleted(pod) || !this.healthy(set, pod))) return;
    }
    // 2. Condemned pods (ordinal ≥ replicas), highest first; OrderedReady one at a time.
    const condemned = [...byOrdinal.entries()].filter(([ordinal]) => ordinal >= replicas).sort(([a], [b]) => b - a);
    for (const [, pod] of condemned) {
      if (isBeingDeleted(pod)) {
        if (ordered) return;
        continue;
      }
      await this.deletePod(set, pod, 'SuccessfulDelete');
      if (ordered) return;
    }
    // 3. Rolling update from the highest ordinal down to the partition, one at a time.
    if (!rolling) return;
    if ([...byOrdinal.values()].some(isBeingDeleted)) return;
    for (let ordinal = replicas - 1; ordinal >= partition; ordinal--) {
      const pod = byOrdinal.get(ordinal);
      if (pod === undefined) return;
      if (revisionOfPod(pod) !== updateRevision) {
        await this.deletePod(set, pod, 'SuccessfulDelete');
        return;
      }
      if (!this.healthy(set, pod)) return;
    }
  }

  private async createPod(set: KubeObject, ordinal: number, revision: string, updateRevision: string, byOrdinal: ReadonlyMap<number, KubeObject>): Promise<void> {
    const name = `${nameOf(set)}-${ordinal}`;
    const owner = controllerReference(set, 'apps/v1', 'StatefulSet');
    let template: { readonly [field: string]: unknown } = templateOf(set);
    let labelRevision = updateRevision;
    if (revision !== updateRevision) {
      // The current revision's template lives only in its pods: copy a sibling's spec.
      const sibling = [...byOrdinal.values()].find((pod) => revisionOfPod(pod) === revision);
      if (sibling !== undefined) {
        const siblingSpec = structuredClone(specOf(sibling)) as Record<string, unknown>;
        for (const field of ['nodeName', 'hostname', 'subdomain']) delete siblingSpec[field];
        template = { metadata: templateOf(set)['metadata'], spec: siblingSpec };
        labelRevision = revision;
      }
    }
    const pod = podFromTemplate(template, namespaceOf(set), '', owner, { [STATEFUL_REVISION_LABEL]: labelRevision, [STATEFUL_POD_NAME_LABEL]: name, [STATEFUL_POD_INDEX_LABEL]: String(ordinal) });
    const metadata = pod['metadata'] as Record<string, unknown>;
    delete metadata['generateName'];
    metadata['name'] = name;
    const podSpec = pod['spec'] as Record<string, unknown>;
    podSpec['hostname'] = name;
    const serviceName = stringField(specOf(set), 'serviceName');
    if (serviceName !== undefined && serviceName !== '') podSpec['subdomain'] = serviceName;
    try {
      await this.env.client.create(PODS, namespaceOf(set), pod);
      void this.env.events?.record(STATEFULSETS, set, 'Normal', 'SuccessfulCreate', `create Pod ${name} in StatefulSet ${nameOf(set)} successful`);
    } catch (error) {
      if (isAlreadyExists(error)) return; // our cache is behind; the next event brings it
      void this.env.events?.record(STATEFULSETS, set, 'Warning', 'FailedCreate', `create Pod ${name} in StatefulSet ${nameOf(set)} failed: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    }
  }

  private async deletePod(set: KubeObject, pod: KubeObject, reason: string): Promise<void> {
    try {
      await this.env.client.delete(PODS, namespaceOf(pod), nameOf(pod), { preconditions: { uid: uidOf(pod) } });
      void this.env.events?.record(STATEFULSETS, set, 'Normal', reason, `delete Pod ${nameOf(pod)} in StatefulSet ${nameOf(set)} successful`);
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }

  private async writeStatus(set: KubeObject, replicas: number, byOrdinal: ReadonlyMap<number, KubeObject>, currentRevision: string, updateRevision: string): Promise<void> {
    const live = [...byOrdinal.values()].filter((pod) => !isBeingDeleted(pod));
    const minReadySeconds = numberField(specOf(set), 'minReadySeconds', 0);
    const now = this.env.clock.now();
    const updated = live.filter((pod) => revisionOfPod(pod) === updateRevision).length;
    // Once every wanted pod runs the update revision, it becomes the current one.
    const inRange = [...byOrdinal.entries()].filter(([ordinal]) => ordinal < replicas).map(([, pod]) => pod);
    const rolledOut = inRange.length === replicas && inRange.every((pod) => revisionOfPod(pod) === updateRevision && !isBeingDeleted(pod));
    const nextCurrent = rolledOut ? updateRevision : currentRevision;
    const status = {
      observedGeneration: metaOf(set).generation ?? 0,
      replicas: live.length,
      readyReplicas: live.filter((pod) => podPhase(pod) === 'Running' && isPodAvailable(pod, 0, now)).length,
      availableReplicas: live.filter((pod) => isPodAvailable(pod, minReadySeconds, now)).length,
      currentReplicas: live.filter((pod) => revisionOfPod(pod) === nextCurrent).length,
      updatedReplicas: updated,
      currentRevision: nextCurrent,
      updateRevision,
      collisionCount: 0,
    };
    const previous = statusOf(set);
    if (!Object.entries(status).some(([field, value]) => previous[field] !== value) || isBeingDeleted(set)) return;
    try {
      await this.env.client.patch(STATEFULSETS, namespaceOf(set), nameOf(set), { status }, 'merge', 'status');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
