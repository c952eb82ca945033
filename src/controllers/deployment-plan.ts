// The Deployment controller's arithmetic, as plain functions: maxSurge / maxUnavailable from an int or a
// percentage (surge rounds up, unavailable rounds down, both 0 means unavailable 1), the pod-template
// hash that names ReplicaSets, one step of a rolling update, and proportional scaling (a change of
// replicas spread over the active ReplicaSets by size).
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

// ---- proportional scaling ---------------------------------------------------------------------------

/** One active ReplicaSet as a scaling event sees it. */
export interface ScalingSet {
  readonly name: string;
  readonly desired: number;
  /** Its `deployment.kubernetes.io/max-replicas` annotation: replicas + maxSurge when it was last scaled. */
  readonly maxReplicasBefore: number | undefined;
  /** Its pods that are not finished and not terminating. */
  readonly activePods: number;
  /** Its active pods that are available. */
  readonly availablePods: number;
}

export interface ScalingEvent {
  /** The Deployment's replicas now. */
  readonly replicas: number;
  readonly limits: RollingLimits;
  /** The active sets (desired > 0), oldest first. */
  readonly sets: readonly ScalingSet[];
  /** The Deployment's status.replicas: the base for a set without its max-replicas annotation. */
  readonly statusReplicas: number;
  /** Pods that exist or will exist (`podsCommitted`): growth stops when they reach replicas + maxSurge. */
  readonly committed: number;
}

/**
 * A change of `replicas` in the middle of a rollout, spread over the active sets in proportion to their
 * sizes, as Kubernetes does (sync.go `scale`): the sets together go to replicas + maxSurge; each set's
 * share is round(desired × (replicas + maxSurge) / its max-replicas annotation) − desired; sets are taken
 * largest first (newer first when growing, older first when shrinking) and the leftover goes to the first.
 * Stricter than Kubernetes, to keep invariant 5: growth is capped by the room left under replicas +
 * maxSurge with every pod counted (terminating ones too); a shrink keeps as many available places as
 * the new minimum needs (replicas − maxUnavailable), taking unavailable places instead where it can, and
 * drops places not filled yet while surplus pods elsewhere still fill the new bound.
 * Returns each set's new desired replicas (name → replicas, every set given).
 */
export function proportionalReplicas(event: ScalingEvent): Map<string, number> {
  const { replicas, sets } = event;
  const next = new Map(sets.map((set) => [set.name, set.desired] as const));
  const allowed = replicas > 0 ? replicas + event.limits.maxSurge : 0;
  const total = sets.reduce((sum, set) => sum + set.desired, 0);
  let toAdd = allowed - total;
  if (toAdd > 0) toAdd = Math.min(toAdd, Math.max(0, allowed - event.committed));
  if (toAdd === 0) {
    makeNoPodsAboveTheBound(event, allowed, next);
    return next;
  }
  const growing = toAdd > 0;
  const position = new Map(sets.map((set, index) => [set.name, index] as const));
  const order = [...sets].sort((a, b) => b.desired - a.desired || (growing ? (position.get(b.name) ?? 0) - (position.get(a.name) ?? 0) : (position.get(a.name) ?? 0) - (position.get(b.name) ?? 0)));
  let added = 0;
  for (const set of order) {
    const share = proportionOf(set, event, allowed);
    const left = toAdd - added;
    const step = growing ? Math.min(share, left) : Math.max(share, left);
    next.set(set.name, set.desired + step);
    added += step;
  }
  const first = order[0];
  if (first !== undefined) next.set(first.name, Math.max(0, (next.get(first.name) ?? 0) + toAdd - added));
  if (!growing) {
    keepAvailablePlaces(event, next);
    makeNoPodsAboveTheBound(event, allowed, next);
  }
  return next;
}

/**
 * After a proportional shrink some sets may still run surplus pods while others have places not filled
 * yet: while pods (as `podsCommitted` counts them) would exceed replicas + maxSurge, the unfilled places
 * go (never a running pod), so no pod is made above the bound; the rollout regrows the new set into room.
 */
function makeNoPodsAboveTheBound(event: ScalingEvent, allowed: number, next: Map<string, number>): void {
  const committedAfter = event.sets.reduce((sum, set) => sum - Math.max(set.desired, set.activePods) + Math.max(next.get(set.name) ?? 0, set.activePods), event.committed);
  let excess = committedAfter - allowed;
  for (const set of event.sets) {
    if (excess <= 0) return;
    const desired = next.get(set.name) ?? 0;
    const cut = Math.min(excess, desired - set.activePods);
    if (cut <= 0) continue;
    next.set(set.name, desired - cut);
    excess -= cut;
  }
}

/** One set's share of a scaling event (see `proportionalReplicas`). */
function proportionOf(set: ScalingSet, event: ScalingEvent, allowed: number): number {
  if (set.desired === 0) return 0;
  if (event.replicas === 0) return -set.desired;
  const before = set.maxReplicasBefore !== undefined && set.maxReplicasBefore > 0 ? set.maxReplicasBefore : event.statusReplicas;
  if (before <= 0) return 0;
  return Math.round((set.desired * allowed) / before) - set.desired;
}

/**
 * After a proportional shrink: while fewer available places are kept than the new minimum (or than were
 * there at all), move one place from a set keeping an unavailable one to a set that gave up an available one.
 */
function keepAvailablePlaces(event: ScalingEvent, next: Map<string, number>): void {
  const availableAt = (set: ScalingSet, desired: number): number => Math.min(set.availablePods, desired);
  const wanted = Math.min(
    event.replicas - event.limits.maxUnavailable,
    event.sets.reduce((sum, set) => sum + availableAt(set, set.desired), 0),
  );
  for (;;) {
    const kept = event.sets.reduce((sum, set) => sum + availableAt(set, next.get(set.name) ?? 0), 0);
    if (kept >= wanted) return;
    const receiver = event.sets.find((set) => (next.get(set.name) ?? 0) < Math.min(set.desired, set.availablePods));
    const donor = event.sets.find((set) => (next.get(set.name) ?? 0) > set.availablePods);
    if (receiver === undefined || donor === undefined) return;
    next.set(receiver.name, (next.get(receiver.name) ?? 0) + 1);
    next.set(donor.name, (next.get(donor.name) ?? 0) - 1);
  }
}
