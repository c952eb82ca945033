// The DaemonSet controller: one pod on every node that should run it (the template's nodeSelector matches
// the node's labels, and every NoSchedule/NoExecute taint is tolerated; DaemonSet pods tolerate the
// unreachable, not-ready and unschedulable taints as Kubernetes adds them), created and deleted as nodes
// come and go. Pods are created with spec.nodeName set (no scheduler involved), labelled with the
// template hash (`controller-revision-hash`). RollingUpdate replaces pods of an old template at most
// maxUnavailable (default 1) nodes at a time; OnDelete waits for someone to delete them. Failed pods are
// deleted so they are made again. Status: desired/current/misscheduled/ready/available/updated counts.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { DAEMONSETS, isNotFound, NODES, PODS, type ApiClient, type KubeObject } from '../client/index.js';
import { podTemplateHash, resolveIntOrPercent, type IntOrPercent } from './deployment-plan.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import { Expectations } from './machinery/expectations.js';
import { deleteOwnedPods } from './machinery/owned-pods.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { selectorMatches } from './machinery/labels.js';
import {
  controllerRefOf,
  controllerReference,
  fieldOf,
  isBeingDeleted,
  isPodAvailable,
  isPodPresent,
  isPodReady,
  keyOf,
  metaOf,
  nameOf,
  namespaceOf,
  numberField,
  podNodeName,
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
import { NOT_READY_TAINT, taintsOf, tolerationsOf, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT, untolerated, type Toleration } from './machinery/taints.js';

export const REVISION_HASH_LABEL = 'controller-revision-hash';

/** The tolerations Kubernetes adds to every DaemonSet pod. */
const DAEMON_TOLERATIONS: readonly Toleration[] = [
  { key: UNREACHABLE_TAINT, operator: 'Exists', effect: 'NoExecute' },
  { key: NOT_READY_TAINT, operator: 'Exists', effect: 'NoExecute' },
  { key: UNSCHEDULABLE_TAINT, operator: 'Exists', effect: 'NoSchedule' },
];

export interface DaemonSetControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  readonly expectations: Expectations;
  private daemonSets: SharedInformer | undefined;
  private nodes: SharedInformer | undefined;
  private pods: SharedInformer | undefined;

  constructor(private readonly env: DaemonSetControllerEnv) {
    this.expectations = new Expectations(env.clock);
  }

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const daemonSets = (this.daemonSets = factory.informerFor(DAEMONSETS));
    const nodes = (this.nodes = factory.informerFor(NODES));
    const pods = (this.pods = factory.informerFor(PODS));
    const enqueueAll = (): void => {
      for (const daemonSet of daemonSets.list()) enqueue(keyOf(daemonSet));
    };
    const ownerOf = (pod: KubeObject): string | undefined => {
      const reference = controllerRefOf(pod);
      if (reference?.kind !== 'DaemonSet') return undefined;
      const owner = daemonSets.get(namespaceOf(pod), reference.name);
      return owner !== undefined && uidOf(owner) === reference.uid ? keyOf(owner) : undefined;
    };
    const registrations = [
      daemonSets.addHandlers({ onAdd: (d) => enqueue(keyOf(d)), onUpdate: (_p, d) => enqueue(keyOf(d)), onDelete: (d) => enqueue(keyOf(d)) }),
      nodes.addHandlers({ onAdd: enqueueAll, onUpdate: enqueueAll, onDelete: enqueueAll }),
      pods.addHandlers({
        onAdd: (pod) => {
          const owner = ownerOf(pod);
          if (owner === undefined) return;
          this.expectations.creationObserved(owner);
          enqueue(owner);
        },
        onUpdate: (previous, pod) => {
          const owner = ownerOf(pod);
          if (owner === undefined) return;
          if (isBeingDeleted(pod) && !isBeingDeleted(previous)) this.expectations.deletionObserved(owner, keyOf(pod));
          enqueue(owner);
        },
        onDelete: (pod) => {
          const owner = ownerOf(pod);
          if (owner === undefined) return;
          this.expectations.deletionObserved(owner, keyOf(pod));
          enqueue(owner);
        },
      }),
    ];
    return () => {
      for (const registration of registrations) registration.remove();
    };
  }

  /**
   * Kubernetes' two answers (daemon_controller.go `NodeShouldRunDaemonPod`): should a pod be made on this
   * node (nodeSelector matches and every NoSchedule/NoExecute taint is tolerated), and may a pod already
   * there keep running (nodeSelector matches and every NoExecute taint is tolerated: a NoSchedule taint
   * added later keeps out new pods, not the one running).
   */
  private placement(daemonSet: KubeObject, node: KubeObject): { readonly shouldRun: boolean; readonly shouldContinueRunning: boolean } {
    if (isBeingDeleted(node)) return { shouldRun: false, shouldContinueRunning: false };
    const podSpec = fieldOf(templateOf(daemonSet), 'spec');
    const nodeSelector = fieldOf(podSpec, 'nodeSelector') as Record<string, string>;
    if (!selectorMatches({ matchLabels: nodeSelector }, metaOf(node).labels)) return { shouldRun: false, shouldContinueRunning: false };
    const tolerations = [...tolerationsOf(podSpec), ...DAEMON_TOLERATIONS];
    return {
      shouldRun: untolerated(taintsOf(node), tolerations, ['NoSchedule', 'NoExecute']).length === 0,
      shouldContinueRunning: untolerated(taintsOf(node), tolerations, ['NoExecute']).length === 0,
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const daemonSet = this.daemonSets?.get(namespace, name);
    if (daemonSet === undefined || namespace === undefined) {
      this.expectations.forget(key);
      return DONE;
    }
    const needsSync = this.expectations.satisfied(key);
    const hash = podTemplateHash(templateOf(daemonSet), 0);
    const owned = (this.pods?.ownedBy(uidOf(daemonSet)) ?? []).filter((pod) => controllerRefOf(pod)?.uid === uidOf(daemonSet) && selectorMatches(selectorOf(daemonSet), metaOf(pod).labels));
    const byNode = new Map<string, KubeObject[]>();
    for (const pod of owned) {
      if (!isPodPresent(pod) && podPhase(pod) !== 'Failed') continue;
      const node = podNodeName(pod) ?? '';
      byNode.set(node, [...(byNode.get(node) ?? []), pod]);
    }
    const nodes = this.nodes?.list() ?? [];
    const wanted = nodes.filter((node) => this.placement(daemonSet, node).shouldRun);
    const wantedNames = new Set(wanted.map(nameOf));
    // Nodes where a pod already there stays, though none would be made now (an untolerated NoSchedule taint).
    const keptNames = new Set(nodes.filter((node) => !wantedNames.has(nameOf(node)) && this.placement(daemonSet, node).shouldContinueRunning).map(nameOf));
    if (needsSync && !isBeingDeleted(daemonSet)) {
      const toCreate: string[] = [];
      const toDelete: KubeObject[] = [];
      for (const node of wanted) {
        const here = (byNode.get(nameOf(node)) ?? []).filter((pod) => !isBeingDeleted(pod));
        const failed = here.filter((pod) => podPhase(pod) === 'Failed');
        const running = here.filter((pod) => podPhase(pod) !== 'Failed');
        toDelete.push(...failed);
        if (running.length === 0 && failed.length === 0) toCreate.push(nameOf(node));
        // More than one on a node: keep the oldest.
        toDelete.push(...running.sort((a, b) => (metaOf(a).creationTimestamp ?? '').localeCompare(metaOf(b).creationTimestamp ?? '')).slice(1));
      }
      for (const [node, pods] of byNode) {
        if (wantedNames.has(node)) continue;
        // On a node it may stay on, only a Failed pod goes (and is not made again).
        const leaving = keptNames.has(node) ? pods.filter((pod) => podPhase(pod) === 'Failed') : pods;
        toDelete.push(...leaving.filter((pod) => !isBeingDeleted(pod)));
      }
      toDelete.push(...this.rollingVictims(daemonSet, wanted, byNode, hash, toDelete));
      await this.createOn(daemonSet, toCreate, hash);
      await this.deletePods(daemonSet, toDelete);
    }
    await this.writeStatus(daemonSet, wanted, byNode, hash);
    return DONE;
  }

  /** Pods of an old template to replace now: while fewer than maxUnavailable wanted nodes lack an available pod. */
  private rollingVictims(daemonSet: KubeObject, wanted: readonly KubeObject[], byNode: ReadonlyMap<string, KubeObject[]>, hash: string, already: readonly KubeObject[]): KubeObject[] {
    const strategy = fieldOf(specOf(daemonSet), 'updateStrategy');
    if ((stringField(strategy, 'type') ?? 'RollingUpdate') !== 'RollingUpdate') return [];
    const maxUnavailable = Math.max(1, resolveIntOrPercent(fieldOf(strategy, 'rollingUpdate')['maxUnavailable'] as IntOrPercent, wanted.length, false, '1'));
    const minReadySeconds = numberField(specOf(daemonSet), 'minReadySeconds', 0);
    const now = this.env.clock.now();
    const doomed = new Set(already);
    let unavailable = 0;
    const old: KubeObject[] = [];
    for (const node of wanted) {
      const here = (byNode.get(nameOf(node)) ?? []).filter((pod) => !isBeingDeleted(pod) && !doomed.has(pod));
      if (!here.some((pod) => isPodAvailable(pod, minReadySeconds, now))) unavailable += 1;
      old.push(...here.filter((pod) => metaOf(pod).labels?.[REVISION_HASH_LABEL] !== hash));
    }
    // Unavailable old pods cost nothing to replace; available ones only within the budget.
    const victims = old.filter((pod) => !isPodAvailable(pod, minReadySeconds, now));
    let budget = maxUnavailable - unavailable;
    for (const pod of old) {
      if (budget <= 0) break;
      if (victims.includes(pod)) continue;
      victims.push(pod);
      budget -= 1;
    }
    return victims;
  }

  private async createOn(daemonSet: KubeObject, nodes: readonly string[], hash: string): Promise<void> {
    if (nodes.length === 0) return;
    const key = keyOf(daemonSet);
    this.expectations.expectCreations(key, nodes.length);
    const owner = controllerReference(daemonSet, 'apps/v1', 'DaemonSet');
    const podSpecTolerations = tolerationsOf(fieldOf(templateOf(daemonSet), 'spec'));
    await Promise.all(
      nodes.map(async (node) => {
        const pod = podFromTemplate(templateOf(daemonSet), namespaceOf(daemonSet), `${nameOf(daemonSet)}-`, owner, { [REVISION_HASH_LABEL]: hash });
        const spec = pod['spec'] as Record<string, unknown>;
        spec['nodeName'] = node;
        spec['tolerations'] = [...podSpecTolerations, ...DAEMON_TOLERATIONS];
        try {
          await this.env.client.create(PODS, namespaceOf(daemonSet), pod);
        } catch (error) {
          this.expectations.creationObserved(key);
          void this.env.events?.record(DAEMONSETS, daemonSet, 'Warning', 'FailedCreate', `Error creating pod on ${node}: ${error instanceof Error ? error.message : String(error)}`);
          throw error;
        }
      }),
    );
    void this.env.events?.record(DAEMONSETS, daemonSet, 'Normal', 'SuccessfulCreate', `Created ${nodes.length} pod(s)`);
  }

  private async deletePods(daemonSet: KubeObject, pods: readonly KubeObject[]): Promise<void> {
    const unique = [...new Set(pods)];
    if (unique.length === 0) return;
    const key = keyOf(daemonSet);
    await deleteOwnedPods(this.env.client, this.expectations, key, unique);
    void this.env.events?.record(DAEMONSETS, daemonSet, 'Normal', 'SuccessfulDelete', `Deleted ${unique.length} pod(s)`);
  }

  private async writeStatus(daemonSet: KubeObject, wanted: readonly KubeObject[], byNode: ReadonlyMap<string, KubeObject[]>, hash: string): Promise<void> {
    const minReadySeconds = numberField(specOf(daemonSet), 'minReadySeconds', 0);
    const now = this.env.clock.now();
    const wantedNames = new Set(wanted.map(nameOf));
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    for (const [node, pods] of byNode) {
      const live = pods.filter((pod) => !isBeingDeleted(pod) && podPhase(pod) !== 'Failed');
      if (live.length === 0) continue;
      if (!wantedNames.has(node)) {
        misscheduled += 1;
        continue;
      }
      current += 1;
      if (live.some(isPodReady)) ready += 1;
      if (live.some((pod) => isPodAvailable(pod, minReadySeconds, now))) available += 1;
      if (live.some((pod) => metaOf(pod).labels?.[REVISION_HASH_LABEL] === hash)) updated += 1;
    }
    const status = {
      desiredNumberScheduled: wanted.length,
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      numberReady: ready,
      numberAvailable: available,
      numberUnavailable: Math.max(0, wanted.length - available),
      updatedNumberScheduled: updated,
      observedGeneration: metaOf(daemonSet).generation ?? 0,
    };
    const previous = statusOf(daemonSet);
    if (!Object.entries(status).some(([field, value]) => previous[field] !== value) || isBeingDeleted(daemonSet)) return;
    try {
      await this.env.client.patch(DAEMONSETS, namespaceOf(daemonSet), nameOf(daemonSet), { status }, 'merge', 'status');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
