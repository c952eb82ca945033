// The scheduler cache: the live Snapshot a shard schedules against, kept from its pod and node
// informers, plus "assumed" pods (chosen a node, binding in flight) so the next cycle already counts
// them. An assumed pod is confirmed when the informer shows it bound, or forgotten when its binding
// fails. Synchronous; a scheduling cycle never sees a half-applied change.

import { addPodToNode, removePodFromNode, requiredAntiAffinityTerms, toNodeInfo, type Json, type NodeInfo, type PodInfo, type Snapshot } from './model.js';

export class SchedulerCache implements Snapshot {
  nodes: NodeInfo[] = [];
  readonly byName = new Map<string, NodeInfo>();
  readonly podsWithAntiAffinity = new Map<string, PodInfo>();
  /** Every counted pod (bound or assumed) by key. */
  private readonly pods = new Map<string, PodInfo>();
  private readonly assumed = new Set<string>();

  /** Adds or replaces a node, keeping the pods counted on it. */
  upsertNode(object: Json): NodeInfo {
    const next = toNodeInfo(object);
    const previous = this.byName.get(next.name);
    if (previous !== undefined) {
      for (const pod of previous.pods.values()) addPodToNode(next, pod);
      this.nodes[this.nodes.indexOf(previous)] = next;
    } else {
      for (const pod of this.pods.values()) if (pod.nodeName === next.name) addPodToNode(next, pod);
      this.nodes.push(next);
      this.nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    this.byName.set(next.name, next);
    return next;
  }

  removeNode(name: string): void {
    const node = this.byName.get(name);
    if (node === undefined) return;
    this.byName.delete(name);
    this.nodes = this.nodes.filter((candidate) => candidate !== node);
  }

  /** A pod the informer shows bound and running (or pending on its node). Confirms an assumption. */
  addBoundPod(pod: PodInfo): void {
    const previous = this.pods.get(pod.key);
    if (previous !== undefined && previous.nodeName !== pod.nodeName) {
      const formerNode = this.byName.get(previous.nodeName);
      if (formerNode !== undefined) removePodFromNode(formerNode, pod.key);
    }
    this.assumed.delete(pod.key);
    this.pods.set(pod.key, pod);
    const node = this.byName.get(pod.nodeName);
    if (node !== undefined) addPodToNode(node, pod);
    if (requiredAntiAffinityTerms(pod).length > 0) this.podsWithAntiAffinity.set(pod.key, pod);
  }

  /** Counts the pod on `nodeName` before its binding is confirmed. */
  assume(pod: PodInfo, nodeName: string): void {
    this.addBoundPod({ ...pod, nodeName });
    this.assumed.add(pod.key);
  }

  /** Its binding failed: stop counting it, unless the informer has meanwhile confirmed it. */
  forget(key: string): void {
    if (this.assumed.has(key)) this.removePod(key);
  }

  isAssumed(key: string): boolean {
    return this.assumed.has(key);
  }

  /** The pod is gone or finished; returns whether it was counted on a node. */
  removePod(key: string): boolean {
    const pod = this.pods.get(key);
    this.assumed.delete(key);
    this.podsWithAntiAffinity.delete(key);
    if (pod === undefined) return false;
    this.pods.delete(key);
    const node = this.byName.get(pod.nodeName);
    if (node !== undefined) removePodFromNode(node, key);
    return true;
  }

  countedPods(): number {
    return this.pods.size;
  }
}
