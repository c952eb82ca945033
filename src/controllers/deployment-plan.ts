// The Deployment controller's arithmetic, as plain functions: maxSurge / maxUnavailable from an int or a
// percentage (surge rounds up, unavailable rounds down, both 0 means unavailable 1), the pod-template
// hash that names ReplicaSets, and one step of a rolling update.
//
// Invariant 5 (DESIGN.md) is kept strictly, stricter than Kubernetes: terminating pods COUNT against
// replicas + maxSurge (upstream lets them exceed it), and availability is counted from pods, capped by
// each ReplicaSet's desired replicas (the ReplicaSet controller may delete any pod of a scaled-down
// set), never from possibly stale ReplicaSet status. So at every moment:
//   pods (terminating included) ≤ replicas + maxSurge   and   available ≥ replicas − maxUnavailable.

export type IntOrPercent = number | string | undefined;

export function resolveIntOrPercent(value: IntOrPercent, total: number, roundUp: boolean, fallback: string): number {
  const raw = value ?? fallback;
  if (typeof raw === 'number') return Math.max(0, Math.floor(raw));
  const match = /^(\d+)%$/.exec(raw);
  if (match === null) {
    const parsed = Number(raw);
    return Number.isInteger(parsed) && parsed >= 0 ? parsed : 0;
  }
  const exact = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export interface RollingLimits {
  readonly maxSurge: number;
  readonly maxUnavailable: number;
}

export function rollingLimits(replicas: number, maxSurge: IntOrPercent, maxUnavailable: IntOrPercent): RollingLimits {
  const surge = resolveIntOrPercent(maxSurge, replicas, true, '25%');
  let unavailable = resolveIntOrPercent(maxUnavailable, replicas, false, '25%');
  if (surge === 0 && unavailable === 0) unavailable = 1; // Kubernetes: a rollout must be able to move
  return { maxSurge: surge, maxUnavailable: Math.min(unavailable, replicas) };
}

// ---- the pod-template hash ------------------------------------------------------------------------

/** JSON with object keys sorted, so equal templates give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      // A null field equals an absent one (Go clients send `creationTimestamp: null` in templates:
      // `kubectl rollout undo` does), so both hash and compare alike.
      .filter(([, field]) => field !== undefined && field !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Kubernetes' alphabet for generated name parts: no vowels (no words) and no look-alike characters. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** A short, stable, DNS-safe hash of a pod template (and the collision count, to step past a clash). */
export function podTemplateHash(template: unknown, collisionCount: number): string {
  let hash = fnv1a32(`${canonicalJson(template)}#${collisionCount}`);
  let out = '';
  do {
    out += SAFE_ALPHABET[hash % SAFE_ALPHABET.length];
    hash = Math.floor(hash / SAFE_ALPHABET.length);
  } while (hash > 0);
  return out;
}

// ---- one step of a rolling update -------------------------------------------------------------------

export interface ReplicaSetCounts {
  readonly name: string;
  /** spec.replicas as last written (our own write if the cache has not caught up). */
  readonly desired: number;
  /** Its pods that are not finished and not terminating. */
  readonly activePods: number;
  /** Its active pods that are available. */
  readonly availablePods: number;
}

export interface RolloutState {
  readonly replicas: number;
  readonly limits: RollingLimits;
  readonly newSet: ReplicaSetCounts;
  /** Oldest first: the order in which old sets are scaled down. */
  readonly oldSets: readonly ReplicaSetCounts[];
  /** Pods matching the Deployment's selector that are terminating (they still occupy a place). */
  readonly terminatingPods: number;
}

/** Pods that exist or will exist: each set's desired count or its active pods if more, plus terminating pods. */
export function podsCommitted(state: RolloutState): number {
  const sets = [state.newSet, ...state.oldSets];
  return sets.reduce((total, set) => total + Math.max(set.desired, set.activePods), 0) + state.terminatingPods;
}

/** Available pods we can count on: a set scaled below its available pods may lose any of them. */
export function availableCommitted(sets: readonly ReplicaSetCounts[]): number {
  return sets.reduce((total, set) => total + Math.min(set.availablePods, set.desired), 0);
}

/** The new set's desired replicas after this step (never lower than now unless above `replicas`). */
export function nextNewSetReplicas(state: RolloutState): number {
  const { replicas, newSet } = state;
  if (newSet.desired >= replicas) return replicas;
  const room = replicas + state.limits.maxSurge - podsCommitted(state);
  if (room <= 0) return newSet.desired;
  return newSet.desired + Math.min(room, replicas - newSet.desired);
}

/** The old sets' desired replicas after this step (name → replicas, only those that change). */
export function nextOldSetReplicas(state: RolloutState): Map<string, number> {
  const changes = new Map<string, number>();
  const minAvailable = state.replicas - state.limits.maxUnavailable;
  const oldDesired = state.oldSets.reduce((total, set) => total + set.desired, 0);
  if (oldDesired === 0) return changes;
  const allDesired = oldDesired + state.newSet.desired;
  const newUnavailable = state.newSet.desired - Math.min(state.newSet.availablePods, state.newSet.desired);
  const maxScaledDown = allDesired - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return changes;
  const desired = new Map(state.oldSets.map((set) => [set.name, set.desired] as const));
  // First the old sets' unavailable places: removing them costs no availability.
  let cleaned = 0;
  for (const set of state.oldSets) {
    if (cleaned >= maxScaledDown) break;
    const current = desired.get(set.name) ?? 0;
    const unhealthy = current - Math.min(set.availablePods, current);
    const step = Math.min(maxScaledDown - cleaned, unhealthy);
    if (step > 0) {
      desired.set(set.name, current - step);
      cleaned += step;
    }
  }
  // Then available ones, while availability stays at or above the minimum.
  const after = (set: ReplicaSetCounts): ReplicaSetCounts => ({ ...set, desired: desired.get(set.name) ?? set.desired });
  const available = availableCommitted([state.newSet, ...state.oldSets.map(after)]);
  let budget = Math.min(available - minAvailable, maxScaledDown - cleaned);
  for (const set of state.oldSets) {
    if (budget <= 0) break;
    const current = desired.get(set.name) ?? 0;
    const step = Math.min(current, budget);
    if (step > 0) {
      desired.set(set.name, current - step);
      budget -= step;
    }
  }
  for (const set of state.oldSets) {
    const next = desired.get(set.name) ?? set.desired;
    if (next !== set.desired) changes.set(set.name, next);
  }
  return changes;
}
