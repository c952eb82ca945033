// The Deployment controller: one ReplicaSet per pod template, named `<deployment>-<pod-template-hash>`;
// RollingUpdate one step per sync (deployment-plan.ts keeps invariant 5 with terminating pods counted),
// Recreate (old sets to zero, wait until their pods are gone, then the new set), the revision annotation
// (a template that matches an old set makes it new again with the next revision: that is how
// `kubectl rollout undo` works), revisionHistoryLimit, pause, proportional scaling of the active sets
// when replicas change mid-rollout (paused or not), and the status `kubectl rollout status`
// reads: observedGeneration, replicas, updatedReplicas, readyReplicas, availableReplicas,
// unavailableReplicas, conditions Available and Progressing (with progressDeadlineSeconds).

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { DEPLOYMENTS, isAlreadyExists, isNotFound, PODS, REPLICASETS, type ApiClient, type KubeObject } from '../client/index.js';
import {
  canonicalJson,
  nextNewSetReplicas,
  nextOldSetReplicas,
  podsCommitted,
  podTemplateHash,
  proportionalReplicas,
  rollingLimits,
  type IntOrPercent,
  type ReplicaSetCounts,
  type RolloutState,
} from './deployment-plan.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { selectorMatches, type LabelSelector } from './machinery/labels.js';
import {
  controllerRefOf,
  controllerReference,
  fieldOf,
  isBeingDeleted,
  isPodActive,
  isPodAvailable,
  isPodPresent,
  keyOf,
  metaOf,
  nameOf,
  namespaceOf,
  numberField,
  selectorOf,
  specOf,
  splitKey,
  statusOf,
  stringField,
  templateOf,
  timestampOf,
  uidOf,
} from './machinery/objects.js';
import { OwnWrites } from './machinery/own-writes.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';

export interface DeploymentControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

type Json = { readonly [field: string]: unknown };

interface Condition {
  readonly type: string;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
  readonly lastUpdateTime: string;
  readonly lastTransitionTime: string;
}

/** What one sync sees: the Deployment's sets, their pods, and the derived counts. */
interface Snapshot {
  readonly deployment: KubeObject;
  readonly replicas: number;
  readonly newSet: KubeObject | undefined;
  /** Oldest first. */
  readonly oldSets: KubeObject[];
  readonly podsOf: (set: KubeObject) => KubeObject[];
  readonly terminatingPods: number;
  readonly minReadySeconds: number;
  readonly nowMs: number;
}

function revisionOf(set: KubeObject): number {
  const value = Number(metaOf(set).annotations?.[REVISION_ANNOTATION] ?? '0');
  return Number.isFinite(value) ? value : 0;
}

function withoutHashLabel(template: Json): Json {
  const copy = structuredClone(template) as { metadata?: { labels?: Record<string, string> } };
  if (copy.metadata?.labels !== undefined) {
    delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
    if (Object.keys(copy.metadata.labels).length === 0) delete copy.metadata.labels;
  }
  return copy as Json;
}

function desiredOf(set: KubeObject): number {
  return numberField(specOf(set), 'replicas', 0);
}

function createdMs(object: KubeObject): number {
  const ms = Date.parse(metaOf(object).creationTimestamp ?? '');
  return Number.isFinite(ms) ? ms : 0;
}

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly ownWrites = new OwnWrites();
  private deployments: SharedInformer | undefined;
  private replicaSets: SharedInformer | undefined;
  private pods: SharedInformer | undefined;

  constructor(private readonly env: DeploymentControllerEnv) {}

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const deployments = (this.deployments = factory.informerFor(DEPLOYMENTS));
    const replicaSets = (this.replicaSets = factory.informerFor(REPLICASETS));
    const pods = (this.pods = factory.informerFor(PODS));
    const deploymentOfSet = (set: KubeObject): string | undefined => {
      const reference = controllerRefOf(set);
      if (reference === undefined || reference.kind !== 'Deployment') return undefined;
      const owner = deployments.get(namespaceOf(set), reference.name);
      return owner !== undefined && uidOf(owner) === reference.uid ? keyOf(owner) : undefined;
    };
    const onSet = (set: KubeObject): void => {
      const owner = deploymentOfSet(set);
      if (owner !== undefined) return enqueue(owner);
      if (controllerRefOf(set) !== undefined) return;
      for (const candidate of deployments.inNamespace(namespaceOf(set))) {
        if (selectorMatches(selectorOf(candidate), metaOf(set).labels)) enqueue(keyOf(candidate));
      }
    };
    const onPod = (pod: KubeObject): void => {
      const reference = controllerRefOf(pod);
      if (reference === undefined || reference.kind !== 'ReplicaSet') return;
      const set = replicaSets.get(namespaceOf(pod), reference.name);
      const owner = set === undefined ? undefined : deploymentOfSet(set);
      if (owner !== undefined) enqueue(owner);
    };
    const registrations = [
      deployments.addHandlers({ onAdd: (d) => enqueue(keyOf(d)), onUpdate: (_p, d) => enqueue(keyOf(d)), onDelete: (d) => enqueue(keyOf(d)) }),
      replicaSets.addHandlers({
        onAdd: onSet,
        onUpdate: (previous, set) => {
          onSet(previous);
          onSet(set);
        },
        onDelete: (set) => {
          this.ownWrites.forget(set);
          onSet(set);
        },
      }),
      pods.addHandlers({ onAdd: onPod, onUpdate: (_p, pod) => onPod(pod), onDelete: onPod }),
    ];
    return () => {
      for (const registration of registrations) registration.remove();
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const deployment = this.deployments?.get(namespace, name);
    if (deployment === undefined || namespace === undefined) return DONE;
    const sets = await this.claimReplicaSets(deployment);
    let snapshot = this.snapshot(deployment, sets);
    if (isBeingDeleted(deployment)) return this.writeStatus(snapshot, false);
    const paused = specOf(deployment)['paused'] === true;
    let created = false;
    if (!paused) {
      // Both strategies make the new set at once, with 0 replicas; the step functions scale it.
      if (snapshot.newSet === undefined) {
        const made = await this.createNewSet(snapshot);
        created = true;
        snapshot = this.snapshot(deployment, [...sets, made]);
      }
      const revised = await this.ensureRevision(snapshot);
      if (revised !== snapshot.newSet) snapshot = { ...snapshot, newSet: revised };
      const strategy = stringField(fieldOf(specOf(deployment), 'strategy'), 'type') ?? 'RollingUpdate';
      if (strategy === 'Recreate') await this.stepRecreate(snapshot);
      // A change of replicas mid-rollout is spread over the active sets first; the rollout goes on next sync.
      else if (!(await this.scaleProportionally(snapshot))) await this.stepRollingUpdate(snapshot);
      snapshot = this.snapshot(deployment, this.ownedSets(deployment));
      await this.cleanupHistory(snapshot);
    } else {
      // Paused: no rollout, but a change of replicas still scales a single active set, or several in proportion.
      const active = [...(snapshot.newSet === undefined ? [] : [snapshot.newSet]), ...snapshot.oldSets].filter((set) => desiredOf(set) > 0);
      const only = active[0];
      if (active.length === 1 && only !== undefined && desiredOf(only) !== snapshot.replicas) {
        await this.scaleSet(snapshot, only, snapshot.replicas);
        snapshot = this.snapshot(deployment, this.ownedSets(deployment));
      } else if (await this.scaleProportionally(snapshot)) {
        snapshot = this.snapshot(deployment, this.ownedSets(deployment));
      }
    }
    return this.writeStatus(snapshot, created);
  }

  // ---- observe ----------------------------------------------------------------------------------

  private ownedSets(deployment: KubeObject): KubeObject[] {
    const uid = uidOf(deployment);
    const cached = (this.replicaSets?.inNamespace(namespaceOf(deployment)) ?? []).filter((set) => controllerRefOf(set)?.uid === uid).map((set) => this.ownWrites.current(set));
    return [...cached, ...this.unseenWrites(deployment, cached)];
  }

  /** Sets we created (or adopted) for this Deployment that the cache does not show yet. */
  private unseenWrites(deployment: KubeObject, seen: readonly KubeObject[]): KubeObject[] {
    const keys = new Set(seen.map(keyOf));
    return this.ownWrites.written().filter((set) => namespaceOf(set) === namespaceOf(deployment) && controllerRefOf(set)?.uid === uidOf(deployment) && !keys.has(keyOf(set)) && this.replicaSets?.get(namespaceOf(set), nameOf(set)) === undefined);
  }

  /** Owned sets after adopting matching orphans and releasing sets that no longer match. */
  private async claimReplicaSets(deployment: KubeObject): Promise<KubeObject[]> {
    const selector = selectorOf(deployment);
    const uid = uidOf(deployment);
    const owned: KubeObject[] = [];
    for (const cached of this.replicaSets?.inNamespace(namespaceOf(deployment)) ?? []) {
      const set = this.ownWrites.current(cached);
      const reference = controllerRefOf(set);
      const matches = selectorMatches(selector, metaOf(set).labels);
      if (reference !== undefined) {
        if (reference.uid !== uid) continue;
        if (matches || isBeingDeleted(deployment)) owned.push(set);
        else await this.setOwners(set, (metaOf(set).ownerReferences ?? []).filter((owner) => owner.uid !== uid));
        continue;
      }
      if (!matches || isBeingDeleted(set) || isBeingDeleted(deployment)) continue;
      const adopted = await this.setOwners(set, [...(metaOf(set).ownerReferences ?? []), controllerReference(deployment, 'apps/v1', 'Deployment')]);
      if (adopted !== undefined) owned.push(adopted);
    }
    return [...owned, ...this.unseenWrites(deployment, owned)];
  }

  private async setOwners(set: KubeObject, owners: readonly unknown[]): Promise<KubeObject | undefined> {
    const meta = metaOf(set);
    try {
      const written = await this.env.client.patch(REPLICASETS, namespaceOf(set), nameOf(set), { metadata: { ownerReferences: owners, resourceVersion: meta.resourceVersion } });
      this.ownWrites.remember(written);
      return written;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private snapshot(deployment: KubeObject, sets: readonly KubeObject[]): Snapshot {
    const template = templateOf(deployment);
    const wanted = canonicalJson(template);
    const matching = sets.filter((set) => canonicalJson(withoutHashLabel(templateOf(set))) === wanted);
    // Several sets with our template (should not happen): the newest revision is the new one.
    const newSet = matching.sort((a, b) => revisionOf(b) - revisionOf(a))[0];
    const oldSets = sets.filter((set) => set !== newSet).sort((a, b) => createdMs(a) - createdMs(b) || nameOf(a).localeCompare(nameOf(b)));
    const podsOf = (set: KubeObject): KubeObject[] => this.pods?.ownedBy(uidOf(set)) ?? [];
    const selector = selectorOf(deployment);
    const terminatingPods = (this.pods?.matching(namespaceOf(deployment), selector) ?? []).filter((pod) => isPodPresent(pod) && isBeingDeleted(pod)).length;
    return {
      deployment,
      replicas: numberField(specOf(deployment), 'replicas', 1),
      newSet,
      oldSets,
      podsOf,
      terminatingPods,
      minReadySeconds: numberField(specOf(deployment), 'minReadySeconds', 0),
      nowMs: this.env.clock.now(),
    };
  }

  private counts(snapshot: Snapshot, set: KubeObject): ReplicaSetCounts {
    const active = snapshot.podsOf(set).filter(isPodActive);
    return {
      name: nameOf(set),
      desired: desiredOf(set),
      activePods: active.length,
      availablePods: active.filter((pod) => isPodAvailable(pod, snapshot.minReadySeconds, snapshot.nowMs)).length,
    };
  }

  private rolloutState(snapshot: Snapshot): RolloutState {
    const rolling = fieldOf(fieldOf(specOf(snapshot.deployment), 'strategy'), 'rollingUpdate');
    const newCounts = snapshot.newSet === undefined ? { name: '', desired: 0, activePods: 0, availablePods: 0 } : this.counts(snapshot, snapshot.newSet);
    return {
      replicas: snapshot.replicas,
      limits: rollingLimits(snapshot.replicas, rolling['maxSurge'] as IntOrPercent, rolling['maxUnavailable'] as IntOrPercent),
      newSet: newCounts,
      oldSets: snapshot.oldSets.map((set) => this.counts(snapshot, set)),
      terminatingPods: snapshot.terminatingPods,
    };
  }

  // ---- act --------------------------------------------------------------------------------------

  private async createNewSet(snapshot: Snapshot): Promise<KubeObject> {
    const { deployment } = snapshot;
    const status = statusOf(deployment);
    let collisionCount = numberField(status, 'collisionCount', 0);
    const template = templateOf(deployment);
    const revision = Math.max(0, ...snapshot.oldSets.map(revisionOf)) + 1;
    const hash = podTemplateHash(template, collisionCount);
    const templateMeta = fieldOf(template, 'metadata');
    const labels = { ...(fieldOf(templateMeta, 'labels') as Record<string, string>), [POD_TEMPLATE_HASH_LABEL]: hash };
    const selector = selectorOf(deployment);
    const newSelector: LabelSelector = { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } };
    const { maxSurge } = this.rolloutState(snapshot).limits;
    const set: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${nameOf(deployment)}-${hash}`,
        namespace: namespaceOf(deployment),
        labels,
        annotations: {
          [REVISION_ANNOTATION]: String(revision),
          [DESIRED_REPLICAS_ANNOTATION]: String(snapshot.replicas),
          [MAX_REPLICAS_ANNOTATION]: String(snapshot.replicas + maxSurge),
        },
        ownerReferences: [controllerReference(deployment, 'apps/v1', 'Deployment')],
      },
      spec: {
        replicas: 0,
        minReadySeconds: snapshot.minReadySeconds,
        selector: newSelector,
        template: { ...template, metadata: { ...templateMeta, labels } },
      },
    };
    try {
      const created = await this.env.client.create(REPLICASETS, namespaceOf(deployment), set);
      this.ownWrites.remember(created);
      void this.env.events?.record(DEPLOYMENTS, deployment, 'Normal', 'ScalingReplicaSet', `Created new replica set "${nameOf(created)}"`);
      return created;
    } catch (error) {
      if (!isAlreadyExists(error)) throw error;
      const existing = await this.env.client.get(REPLICASETS, namespaceOf(deployment), nameOf(set));
      if (controllerRefOf(existing)?.uid === uidOf(deployment) && canonicalJson(withoutHashLabel(templateOf(existing))) === canonicalJson(template)) return existing;
      // A different set holds the name: step the hash with the collision count and try again.
      collisionCount += 1;
      await this.env.client.patch(DEPLOYMENTS, namespaceOf(deployment), nameOf(deployment), { status: { collisionCount } }, 'merge', 'status');
      throw new Error(`replica set name ${nameOf(set)} is taken; collisionCount is now ${collisionCount}`);
    }
  }

  /** The new set carries the highest revision (an old template brought back gets the next one). Returns the new set as written. */
  private async ensureRevision(snapshot: Snapshot): Promise<KubeObject | undefined> {
    const { deployment } = snapshot;
    let newSet = snapshot.newSet;
    if (newSet === undefined) return undefined;
    const highestOld = Math.max(0, ...snapshot.oldSets.map(revisionOf));
    let revision = revisionOf(newSet);
    if (revision <= highestOld) {
      revision = highestOld + 1;
      newSet = await this.scaleSet(snapshot, newSet, desiredOf(newSet), { [REVISION_ANNOTATION]: String(revision) });
    }
    if (metaOf(deployment).annotations?.[REVISION_ANNOTATION] !== String(revision)) {
      await this.env.client.patch(DEPLOYMENTS, namespaceOf(deployment), nameOf(deployment), { metadata: { annotations: { [REVISION_ANNOTATION]: String(revision) } } });
    }
    return newSet;
  }

  private async stepRollingUpdate(snapshot: Snapshot): Promise<void> {
    const newSet = snapshot.newSet;
    if (newSet === undefined) return;
    const state = this.rolloutState(snapshot);
    const newReplicas = nextNewSetReplicas(state);
    if (newReplicas !== state.newSet.desired) {
      await this.scaleSet(snapshot, newSet, newReplicas);
      if (newReplicas > state.newSet.desired) return; // one kind of step per sync, as Kubernetes
    }
    const scaled = { ...state, newSet: { ...state.newSet, desired: newReplicas } };
    for (const [name, replicas] of nextOldSetReplicas(scaled)) {
      const set = snapshot.oldSets.find((candidate) => nameOf(candidate) === name);
      if (set !== undefined) await this.scaleSet(snapshot, set, replicas);
    }
  }

  /**
   * A scaling event (Kubernetes' `isScalingEvent`): an active set whose desired-replicas annotation is not
   * the Deployment's replicas. With two or more active sets of a RollingUpdate Deployment, the change is
   * spread over them in proportion (deployment-plan.ts); every active set then carries the new annotations.
   * Returns true when it scaled.
   */
  private async scaleProportionally(snapshot: Snapshot): Promise<boolean> {
    const strategy = stringField(fieldOf(specOf(snapshot.deployment), 'strategy'), 'type') ?? 'RollingUpdate';
    if (strategy === 'Recreate') return false;
    // Oldest first, the new set last (it is the newest).
    const active = [...snapshot.oldSets, ...(snapshot.newSet === undefined ? [] : [snapshot.newSet])].filter((set) => desiredOf(set) > 0);
    if (active.length < 2) return false;
    const annotated = (set: KubeObject, annotation: string): number | undefined => {
      const value = metaOf(set).annotations?.[annotation];
      const parsed = value === undefined ? Number.NaN : Number(value);
      return Number.isInteger(parsed) ? parsed : undefined;
    };
    const scaling = active.some((set) => {
      const desired = annotated(set, DESIRED_REPLICAS_ANNOTATION);
      return desired !== undefined && desired !== snapshot.replicas;
    });
    if (!scaling) return false;
    const state = this.rolloutState(snapshot);
    const sizes = proportionalReplicas({
      replicas: snapshot.replicas,
      limits: state.limits,
      sets: active.map((set) => ({
        name: nameOf(set),
        desired: desiredOf(set),
        maxReplicasBefore: annotated(set, MAX_REPLICAS_ANNOTATION),
        activePods: this.counts(snapshot, set).activePods,
        availablePods: this.counts(snapshot, set).availablePods,
      })),
      statusReplicas: numberField(statusOf(snapshot.deployment), 'replicas', 0),
      committed: podsCommitted(state),
    });
    // Shrinking sets first: the pods they give up make the room the growing ones take.
    const ordered = [...active].sort((a, b) => (sizes.get(nameOf(a)) ?? 0) - desiredOf(a) - ((sizes.get(nameOf(b)) ?? 0) - desiredOf(b)));
    for (const set of ordered) await this.scaleSet(snapshot, set, sizes.get(nameOf(set)) ?? desiredOf(set));
    return true;
  }

  private async stepRecreate(snapshot: Snapshot): Promise<void> {
    for (const set of snapshot.oldSets) if (desiredOf(set) > 0) await this.scaleSet(snapshot, set, 0);
    const oldPodsLeft = snapshot.oldSets.some((set) => snapshot.podsOf(set).some(isPodPresent)) || snapshot.terminatingPods > 0;
    const newSet = snapshot.newSet;
    if (oldPodsLeft || newSet === undefined) return;
    if (desiredOf(newSet) !== snapshot.replicas) await this.scaleSet(snapshot, newSet, snapshot.replicas);
  }

  private async scaleSet(snapshot: Snapshot, set: KubeObject, replicas: number, annotations: Record<string, string> = {}): Promise<KubeObject> {
    const previous = desiredOf(set);
    const rolling = fieldOf(fieldOf(specOf(snapshot.deployment), 'strategy'), 'rollingUpdate');
    const { maxSurge } = rollingLimits(snapshot.replicas, rolling['maxSurge'] as IntOrPercent, rolling['maxUnavailable'] as IntOrPercent);
    const written = await this.env.client.patch(REPLICASETS, namespaceOf(set), nameOf(set), {
      metadata: {
        resourceVersion: metaOf(set).resourceVersion,
        annotations: { ...annotations, [DESIRED_REPLICAS_ANNOTATION]: String(snapshot.replicas), [MAX_REPLICAS_ANNOTATION]: String(snapshot.replicas + maxSurge) },
      },
      spec: { replicas },
    });
    this.ownWrites.remember(written);
    if (previous !== replicas) {
      const verb = replicas > previous ? 'up' : 'down';
      void this.env.events?.record(DEPLOYMENTS, snapshot.deployment, 'Normal', 'ScalingReplicaSet', `Scaled ${verb} replica set ${nameOf(set)} from ${previous} to ${replicas}`);
    }
    return written;
  }

  /** Deletes the oldest old sets beyond revisionHistoryLimit, once they have no pods left at all. */
  private async cleanupHistory(snapshot: Snapshot): Promise<void> {
    const limit = numberField(specOf(snapshot.deployment), 'revisionHistoryLimit', 10);
    const idle = snapshot.oldSets
      .filter((set) => desiredOf(set) === 0 && snapshot.podsOf(set).length === 0 && !isBeingDeleted(set))
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const set of idle.slice(0, Math.max(0, idle.length - limit))) {
      try {
        await this.env.client.delete(REPLICASETS, namespaceOf(set), nameOf(set), { preconditions: { uid: uidOf(set) } });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
  }

  // ---- record status ----------------------------------------------------------------------------

  private async writeStatus(snapshot: Snapshot, created: boolean): Promise<ReconcileResult> {
    const { deployment, replicas, newSet, nowMs } = snapshot;
    const sets = newSet === undefined ? snapshot.oldSets : [newSet, ...snapshot.oldSets];
    const statusSum = (field: string): number => sets.reduce((total, set) => total + numberField(statusOf(set), field, 0), 0);
    const state = this.rolloutState(snapshot);
    const available = statusSum('availableReplicas');
    const updated = newSet === undefined ? 0 : numberField(statusOf(newSet), 'replicas', 0);
    const total = statusSum('replicas');
    const generation = metaOf(deployment).generation ?? 0;
    const previous = statusOf(deployment);
    const previousConditions = Array.isArray(previous['conditions']) ? (previous['conditions'] as Condition[]) : [];
    const now = timestampOf(nowMs);
    const condition = (type: string, status: Condition['status'], reason: string, message: string, progressed: boolean): Condition => {
      const old = previousConditions.find((candidate) => candidate.type === type);
      const same = old !== undefined && old.status === status && old.reason === reason;
      return {
        type,
        status,
        reason,
        message,
        lastUpdateTime: same && !progressed ? old.lastUpdateTime : now,
        lastTransitionTime: old !== undefined && old.status === status ? old.lastTransitionTime : now,
      };
    };
    const minAvailable = replicas - state.limits.maxUnavailable;
    const availableCondition =
      available >= minAvailable
        ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', false)
        : condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', false);
    const complete = newSet !== undefined && updated === replicas && total === replicas && available === replicas && desiredOf(newSet) === replicas;
    const progressed = updated !== numberField(previous, 'updatedReplicas', -1) || available !== numberField(previous, 'availableReplicas', -1) || created;
    const deadlineSeconds = numberField(specOf(deployment), 'progressDeadlineSeconds', 600);
    const setName = newSet === undefined ? '' : nameOf(newSet);
    let progressing: Condition;
    let wakeMs: number | undefined;
    if (specOf(deployment)['paused'] === true) {
      progressing = condition('Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', false);
    } else if (complete) {
      progressing = condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${setName}" has successfully progressed.`, false);
    } else {
      // Progress (more updated or available pods, a new set) restarts the deadline clock.
      const old = previousConditions.find((candidate) => candidate.type === 'Progressing');
      const oldUpdateMs = Date.parse(old?.lastUpdateTime ?? '');
      const lastProgressMs = progressed || !Number.isFinite(oldUpdateMs) ? nowMs : oldUpdateMs;
      const at = timestampOf(lastProgressMs);
      if (nowMs - lastProgressMs > deadlineSeconds * 1000) {
        progressing = { ...condition('Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${setName}" has timed out progressing.`, false), lastUpdateTime: at };
        if (old?.reason !== 'ProgressDeadlineExceeded') void this.env.events?.record(DEPLOYMENTS, deployment, 'Warning', 'ProgressDeadlineExceeded', progressing.message);
      } else {
        const reason = created ? 'NewReplicaSetCreated' : 'ReplicaSetUpdated';
        const message = created ? `Created new replica set "${setName}"` : `ReplicaSet "${setName}" is progressing.`;
        progressing = { ...condition('Progressing', 'True', reason, message, false), lastUpdateTime: at };
        wakeMs = lastProgressMs + deadlineSeconds * 1000 - nowMs + 1;
      }
    }
    const status: Record<string, unknown> = {
      observedGeneration: generation,
      replicas: total,
      updatedReplicas: updated,
      readyReplicas: statusSum('readyReplicas'),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, replicas - available),
      conditions: [availableCondition, progressing],
    };
    const collisionCount = numberField(previous, 'collisionCount', 0);
    if (collisionCount > 0) status['collisionCount'] = collisionCount;
    const changed = Object.entries(status).some(([field, value]) => canonicalJson(previous[field] ?? null) !== canonicalJson(value));
    if (changed) {
      try {
        await this.env.client.patch(DEPLOYMENTS, namespaceOf(deployment), nameOf(deployment), { status }, 'merge', 'status');
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    // Come back when a ready pod turns available (minReadySeconds) or when the progress deadline passes.
    if (!complete && snapshot.minReadySeconds > 0) return requeueAfter(Math.min(wakeMs ?? Infinity, snapshot.minReadySeconds * 1000));
    return wakeMs === undefined ? DONE : requeueAfter(wakeMs);
  }
}
