// Node taints and pod tolerations: does a pod (template) tolerate a node's taints for a given effect,
// and for how long it tolerates a NoExecute taint (tolerationSeconds). Used by the DaemonSet controller
// (where to run) and the node lifecycle controller (when to evict).

import type { KubeObject } from '../../client/index.js';
import { specOf } from './objects.js';

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly timeAdded?: string;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect?: string;
  readonly tolerationSeconds?: number;
}

export const UNREACHABLE_TAINT = 'node.kubernetes.io/unreachable';
export const NOT_READY_TAINT = 'node.kubernetes.io/not-ready';
export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';

export function taintsOf(node: KubeObject): Taint[] {
  const taints = specOf(node)['taints'];
  return Array.isArray(taints) ? (taints as Taint[]) : [];
}

export function tolerationsOf(podSpec: { readonly [field: string]: unknown }): Toleration[] {
  const tolerations = podSpec['tolerations'];
  return Array.isArray(tolerations) ? (tolerations as Toleration[]) : [];
}

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== undefined && toleration.effect !== '' && toleration.effect !== taint.effect) return false;
  if (toleration.key === undefined || toleration.key === '') return toleration.operator === 'Exists';
  if (toleration.key !== taint.key) return false;
  if (toleration.operator === 'Exists') return true;
  return (toleration.value ?? '') === (taint.value ?? '');
}

/** The taints of the given effects that no toleration covers. */
export function untolerated(taints: readonly Taint[], tolerations: readonly Toleration[], effects: readonly Taint['effect'][]): Taint[] {
  return taints.filter((taint) => effects.includes(taint.effect) && !tolerations.some((toleration) => tolerates(toleration, taint)));
}

/**
 * How long a pod may stay on a node with this NoExecute taint (ms): 0 if not tolerated, Infinity if
 * tolerated without a limit, else the smallest tolerationSeconds of the tolerations that match.
 */
export function toleratedForMs(taint: Taint, tolerations: readonly Toleration[]): number {
  const matching = tolerations.filter((toleration) => tolerates(toleration, taint));
  if (matching.length === 0) return 0;
  const limits = matching.map((toleration) => (typeof toleration.tolerationSeconds === 'number' ? Math.max(0, toleration.tolerationSeconds) * 1000 : Infinity));
  return Math.min(...limits);
}
