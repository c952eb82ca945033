// The scheduling framework: extension points (queue sort, pre-filter, filter, post-filter,
// pre-score, score + normalise, reserve; bind is the shard's, through the API) and one scheduling
// cycle over a snapshot: filter every node, score the feasible ones, pick the best (ties broken by the
// injected Random), or explain the failure in kube-scheduler's words ("0/5 nodes are available: 3
// Insufficient cpu, 2 node(s) had untolerated taint {…}."). Pure and synchronous: the same pod,
// snapshot and seed give the same answer.

import type { Random } from '../actors/random.js';
import type { NodeInfo, PodInfo, Snapshot } from './model.js';

/** Scores are 0..MAX_NODE_SCORE after normalisation (as kube-scheduler). */
export const MAX_NODE_SCORE = 100;

/** Why a node (or, from pre-filter, every node) cannot take the pod. */
export interface Rejection {
  readonly plugin: string;
  /** kube-scheduler's reason strings, e.g. "Insufficient cpu". */
  readonly reasons: readonly string[];
}

/** Per-cycle scratch space shared between one plugin's extension points. */
export class CycleState {
  private readonly values = new Map<string, unknown>();
  set(key: string, value: unknown): void {
    this.values.set(key, value);
  }
  get<T>(key: string): T | undefined {
    return this.values.get(key) as T | undefined;
  }
}

export interface Plugin {
  readonly name: string;
  /** Negative when a should be tried before b. */
  queueSort?(a: PodInfo, b: PodInfo): number;
  /** Prepare cycle state; a result rejects the pod on every node. */
  preFilter?(state: CycleState, pod: PodInfo, snapshot: Snapshot): Rejection | undefined;
  filter?(state: CycleState, pod: PodInfo, node: NodeInfo): Rejection | undefined;
  /** Runs when no node fits (preemption would live here); may name a node to nominate. */
  postFilter?(state: CycleState, pod: PodInfo, snapshot: Snapshot): string | undefined;
  /** Prepare scoring; 'skip' when this plugin's scores would be equal on every node (not scored). */
  preScore?(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): 'skip' | undefined;
  /** A raw score for the node; normaliseScores maps raw scores to 0..MAX_NODE_SCORE. */
  score?(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** `scores[i]` is the score of the i-th feasible node; rewritten in place. */
  normaliseScores?(state: CycleState, pod: PodInfo, scores: number[]): void;
  reserve?(state: CycleState, pod: PodInfo, node: NodeInfo): void;
  unreserve?(state: CycleState, pod: PodInfo, node: NodeInfo): void;
}

export interface Profile {
  readonly plugins: readonly Plugin[];
  /** Score weight by plugin name (a scoring plugin missing here weighs 1). */
  readonly weights: Readonly<Record<string, number>>;
}

export type ScheduleResult =
  | { readonly kind: 'scheduled'; readonly node: string; readonly feasibleNodes: number; readonly state: CycleState }
  | { readonly kind: 'unschedulable'; readonly message: string; readonly reasons: ReadonlyMap<string, number>; readonly nominatedNode?: string };

/**
 * How many feasible nodes to find before scoring stops looking (kube-scheduler's
 * percentageOfNodesToScore, adaptive): all of a small cluster, at least 100, and a shrinking share
 * of a large one.
 */
export function feasibleNodesToFind(nodeCount: number): number {
  const minimum = 100;
  if (nodeCount <= minimum) return nodeCount;
  const percentage = Math.max(5, 50 - Math.floor(nodeCount / 125));
  return Math.max(minimum, Math.floor((nodeCount * percentage) / 100));
}

/** kube-scheduler's FitError text: counts per reason, sorted as strings, joined. */
export function failureMessage(nodeCount: number, reasons: ReadonlyMap<string, number>): string {
  const parts = [...reasons].map(([reason, count]) => `${count} ${reason}`).sort();
  return `0/${nodeCount} nodes are available: ${parts.join(', ')}.`;
}

export class Framework {
  private readonly queueSorter: Plugin | undefined;
  /** Rotates where a cycle starts looking, so partial scans spread over the cluster. */
  private nextStartNode = 0;

  constructor(
    readonly profile: Profile,
    private readonly random: Random,
  ) {
    this.queueSorter = profile.plugins.find((plugin) => plugin.queueSort !== undefined);
  }

  /** The queue's order (earlier first); creation time then key when no plugin sorts. */
  compare(a: PodInfo, b: PodInfo): number {
    const sorted = this.queueSorter?.queueSort?.(a, b) ?? 0;
    if (sorted !== 0) return sorted;
    if (a.creationTimestamp !== b.creationTimestamp) return a.creationTimestamp < b.creationTimestamp ? -1 : 1;
    return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
  }

  schedule(pod: PodInfo, snapshot: Snapshot): ScheduleResult {
    const state = new CycleState();
    const nodeCount = snapshot.nodes.length;
    if (nodeCount === 0) return { kind: 'unschedulable', message: 'no nodes available to schedule pods', reasons: new Map() };
    const reasons = new Map<string, number>();
    for (const plugin of this.profile.plugins) {
      const rejection = plugin.preFilter?.(state, pod, snapshot);
      if (rejection !== undefined) {
        for (const reason of rejection.reasons) reasons.set(reason, nodeCount);
        return { kind: 'unschedulable', message: failureMessage(nodeCount, reasons), reasons };
      }
    }
    const feasible = this.findFeasible(state, pod, snapshot, reasons);
    if (feasible.length === 0) {
      let nominatedNode: string | undefined;
      for (const plugin of this.profile.plugins) nominatedNode ??= plugin.postFilter?.(state, pod, snapshot);
      return { kind: 'unschedulable', message: failureMessage(nodeCount, reasons), reasons, ...(nominatedNode !== undefined ? { nominatedNode } : {}) };
    }
    const chosen = feasible.length === 1 ? feasible[0] : this.pickBest(state, pod, feasible);
    if (chosen === undefined) throw new Error('invariant: a feasible node must be chosen');
    return { kind: 'scheduled', node: chosen.name, feasibleNodes: feasible.length, state };
  }

  reserve(state: CycleState, pod: PodInfo, node: NodeInfo): void {
    for (const plugin of this.profile.plugins) plugin.reserve?.(state, pod, node);
  }

  unreserve(state: CycleState, pod: PodInfo, node: NodeInfo): void {
    for (const plugin of [...this.profile.plugins].reverse()) plugin.unreserve?.(state, pod, node);
  }

  /** Runs the filters over nodes from a rotating start until enough feasible nodes are found. */
  private findFeasible(state: CycleState, pod: PodInfo, snapshot: Snapshot, reasons: Map<string, number>): NodeInfo[] {
    const nodeCount = snapshot.nodes.length;
    const wanted = feasibleNodesToFind(nodeCount);
    const feasible: NodeInfo[] = [];
    const start = this.nextStartNode % nodeCount;
    let examined = 0;
    for (; examined < nodeCount && feasible.length < wanted; examined++) {
      const node = snapshot.nodes[(start + examined) % nodeCount];
      if (node === undefined) continue;
      const rejection = this.filterNode(state, pod, node);
      if (rejection === undefined) feasible.push(node);
      else for (const reason of rejection.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    this.nextStartNode = (start + examined) % nodeCount;
    return feasible;
  }

  /** The first plugin that rejects the node decides (as kube-scheduler). */
  filterNode(state: CycleState, pod: PodInfo, node: NodeInfo): Rejection | undefined {
    for (const plugin of this.profile.plugins) {
      const rejection = plugin.filter?.(state, pod, node);
      if (rejection !== undefined) return rejection;
    }
    return undefined;
  }

  /** Weighted sum of normalised scores; the best node, ties broken uniformly by the Random. */
  private pickBest(state: CycleState, pod: PodInfo, feasible: readonly NodeInfo[]): NodeInfo | undefined {
    const totals = new Array<number>(feasible.length).fill(0);
    const scores = new Array<number>(feasible.length);
    for (const plugin of this.profile.plugins) {
      const score = plugin.score;
      if (score === undefined) continue;
      const weight = this.profile.weights[plugin.name] ?? 1;
      if (weight === 0) continue;
      if (plugin.preScore?.(state, pod, feasible) === 'skip') continue;
      for (let i = 0; i < feasible.length; i++) scores[i] = score(state, pod, feasible[i] as NodeInfo);
      plugin.normaliseScores?.(state, pod, scores);
      for (let i = 0; i < feasible.length; i++) totals[i] = (totals[i] as number) + weight * (scores[i] as number);
    }
    let best: NodeInfo | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    let ties = 0;
    for (let i = 0; i < feasible.length; i++) {
      const total = totals[i] as number;
      if (total > bestScore) {
        best = feasible[i];
        bestScore = total;
        ties = 1;
      } else if (total === bestScore) {
        ties++;
        if (this.random.int(ties) === 0) best = feasible[i]; // reservoir sampling: each tied node equally likely
      }
    }
    return best;
  }
}

/** Scales raw scores linearly so the highest is MAX_NODE_SCORE (or reversed: the lowest is). */
export function normaliseToMax(scores: number[], reverse: boolean): void {
  let max = 0;
  for (const score of scores) max = Math.max(max, score);
  for (let i = 0; i < scores.length; i++) {
    if (max === 0) scores[i] = reverse ? MAX_NODE_SCORE : 0;
    else {
      const scaled = Math.floor((MAX_NODE_SCORE * (scores[i] as number)) / max);
      scores[i] = reverse ? MAX_NODE_SCORE - scaled : scaled;
    }
  }
}
