// The rolling-update arithmetic (deployment-plan.ts) against a model of the cluster, over many seeds:
// the Deployment step, ReplicaSet controllers that delete ANY active pod when scaled down (worse than the
// real one, which prefers unready pods), pods becoming ready and terminating pods going away, in an
// order drawn from the seed. Invariant 5 is checked after every event, and every rollout must finish.
// A second run changes `replicas` once in the middle of each rollout (a scaling event: proportional
// scaling when both sets are active); the bound then moves, so from that moment an event may not ADD
// pods above the new replicas + maxSurge nor REMOVE available pods below the new replicas −
// maxUnavailable, except the deletions a ReplicaSet still owed from before the change; at every event
// the wider of the two bounds holds. There the ReplicaSets delete not-ready pods first, as the real
// controller does (proportional shrinking relies on it, as in Kubernetes).

import test from 'ava';
import { Prng } from '../../src/actors/random.js';
import { nextNewSetReplicas, nextOldSetReplicas, podsCommitted, proportionalReplicas, rollingLimits, type ReplicaSetCounts, type RolloutState } from '../../src/controllers/deployment-plan.js';

type PodState = 'starting' | 'ready' | 'terminating';

interface ModelSet {
  readonly name: string;
  desired: number;
  readonly pods: PodState[];
  /** The desired-replicas and max-replicas annotations of its last write. */
  annotatedReplicas: number;
  annotatedMax: number;
}

function counts(set: ModelSet): ReplicaSetCounts {
  const active = set.pods.filter((pod) => pod !== 'terminating');
  return { name: set.name, desired: set.desired, activePods: active.length, availablePods: active.filter((pod) => pod === 'ready').length };
}

/** One seeded rollout; with `scaling`, replicas change once at a step drawn from another stream of the seed. */
function runRollout(seed: number, scaling = false): string | undefined {
  const random = new Prng(seed);
  const scaleRandom = new Prng(seed + 1_000_000);
  let replicas = random.between(1, 12);
  const surgeOptions: (number | string)[] = [0, 1, 2, '25%', '50%'];
  const unavailableOptions: (number | string)[] = [0, 1, 2, '25%', '10%'];
  const maxSurge = random.pick(surgeOptions);
  const maxUnavailable = random.pick(unavailableOptions);
  let limits = rollingLimits(replicas, maxSurge, maxUnavailable);
  const old: ModelSet = { name: 'old', desired: replicas, pods: Array.from({ length: replicas }, () => 'ready' as PodState), annotatedReplicas: replicas, annotatedMax: replicas + limits.maxSurge };
  const fresh: ModelSet = { name: 'new', desired: 0, pods: [], annotatedReplicas: replicas, annotatedMax: replicas + limits.maxSurge };
  const sets = [fresh, old];
  const scaleAt = scaling ? scaleRandom.int(60) : -1;
  const scaledTo = scaleRandom.between(1, 16);
  let where = `seed ${seed}: replicas ${replicas}, maxSurge ${maxSurge}, maxUnavailable ${maxUnavailable}`;
  const present = (): number => sets.reduce((total, set) => total + set.pods.length, 0);
  const available = (): number => sets.reduce((total, set) => total + set.pods.filter((pod) => pod === 'ready').length, 0);
  let before = { present: present(), available: available() };
  /** The bound before the scaling event, and whether the Deployment has synced since it. */
  let earlier = { maxPods: replicas + limits.maxSurge, minAvailable: replicas - limits.maxUnavailable };
  let syncedSinceScaling = true;
  /** Deletions each set's ReplicaSet still owed when replicas changed (decided under the earlier bound). */
  const owedAtScaling = new Map<string, number>();
  let owedDeletion = false;
  const check = (event: string): string | undefined => {
    const now = { present: present(), available: available() };
    const added = now.present > before.present;
    const removed = now.available < before.available;
    before = now;
    const maxPods = replicas + limits.maxSurge;
    const minAvailable = replicas - limits.maxUnavailable;
    // Always within the wider of the two bounds (decisions taken before the event are still carried out).
    if (now.present > Math.max(maxPods, earlier.maxPods)) return `${where}: ${now.present} pods after ${event}`;
    if (now.available < Math.min(minAvailable, earlier.minAvailable)) return `${where}: ${now.available} available after ${event}`;
    // Once the Deployment has synced: no pod added above the new bound, no available pod removed below it.
    if (syncedSinceScaling && added && now.present > maxPods) return `${where}: ${now.present} pods after ${event} (added above ${maxPods})`;
    if (syncedSinceScaling && removed && !owedDeletion && now.available < minAvailable) return `${where}: ${now.available} available after ${event} (removed below ${minAvailable})`;
    return undefined;
  };
  const write = (set: ModelSet, desired: number): void => {
    set.desired = desired;
    set.annotatedReplicas = replicas;
    set.annotatedMax = replicas + limits.maxSurge;
  };
  const rolloutState = (): RolloutState => ({
    replicas,
    limits,
    newSet: counts(fresh),
    oldSets: [counts(old)],
    terminatingPods: sets.reduce((total, set) => total + set.pods.filter((pod) => pod === 'terminating').length, 0),
  });
  /** The controller's scaling event: two active sets, one annotated with other replicas. */
  const scaleProportionally = (): boolean => {
    const active = [old, fresh].filter((set) => set.desired > 0);
    if (active.length < 2 || !active.some((set) => set.annotatedReplicas !== replicas)) return false;
    const sizes = proportionalReplicas({
      replicas,
      limits,
      sets: active.map((set) => ({ name: set.name, desired: set.desired, maxReplicasBefore: set.annotatedMax, activePods: counts(set).activePods, availablePods: counts(set).availablePods })),
      statusReplicas: present(),
      committed: podsCommitted(rolloutState()),
    });
    for (const set of active) write(set, sizes.get(set.name) ?? set.desired);
    return true;
  };
  const deploymentStep = (): void => {
    if (scaleProportionally()) return;
    const state = rolloutState();
    const next = nextNewSetReplicas(state);
    if (next !== fresh.desired) {
      const grew = next > fresh.desired;
      write(fresh, next);
      if (grew) return;
    }
    const changes = nextOldSetReplicas({ ...state, newSet: counts(fresh) });
    const oldNext = changes.get('old');
    if (oldNext !== undefined) write(old, oldNext);
  };
  const replicaSetStep = (set: ModelSet): void => {
    const active = set.pods.filter((pod) => pod !== 'terminating').length;
    if (active < set.desired) set.pods.push('starting');
    else if (active > set.desired) {
      const candidates = set.pods.map((pod, index) => [pod, index] as const).filter(([pod]) => pod !== 'terminating');
      const starting = candidates.filter(([pod]) => pod === 'starting');
      const [, index] = random.pick(scaling && starting.length > 0 ? starting : candidates);
      set.pods[index] = 'terminating';
      const owed = owedAtScaling.get(set.name) ?? 0;
      owedDeletion = owed > 0;
      if (owed > 0) owedAtScaling.set(set.name, owed - 1);
    }
  };
  const done = (): boolean => fresh.desired === replicas && old.desired === 0 && old.pods.length === 0 && fresh.pods.length === replicas && fresh.pods.every((pod) => pod === 'ready');
  for (let step = 0; step < 5_000 && !done(); step++) {
    if (step === scaleAt) {
      where += `; scaled to ${scaledTo} at step ${step} (old ${old.desired}/${old.pods.join(',')}, new ${fresh.desired}/${fresh.pods.join(',')})`;
      earlier = { maxPods: replicas + limits.maxSurge, minAvailable: replicas - limits.maxUnavailable };
      replicas = scaledTo;
      limits = rollingLimits(replicas, maxSurge, maxUnavailable);
      syncedSinceScaling = false;
      for (const set of sets) owedAtScaling.set(set.name, Math.max(0, counts(set).activePods - set.desired));
    }
    const roll = random.int(5);
    owedDeletion = false;
    let event: string;
    if (roll === 0) {
      deploymentStep();
      syncedSinceScaling = true;
      event = 'deployment sync';
    } else if (roll === 1) {
      const set = random.pick(sets);
      replicaSetStep(set);
      event = `replicaset ${set.name} sync`;
    } else if (roll === 2) {
      const set = random.pick(sets);
      const index = set.pods.indexOf('starting');
      if (index >= 0) set.pods[index] = 'ready';
      event = `a ${set.name} pod ready`;
    } else {
      const set = random.pick(sets);
      const index = set.pods.indexOf('terminating');
      if (index >= 0) set.pods.splice(index, 1);
      event = `a ${set.name} pod gone`;
    }
    const problem = check(event);
    if (problem !== undefined) return problem;
  }
  return done() ? undefined : `${where}: the rollout did not finish (new ${fresh.desired}/${fresh.pods.join(',')}, old ${old.desired}/${old.pods.join(',')})`;
}

test('2,000 seeded rollouts keep invariant 5 at every event and finish', (t) => {
  const failures: string[] = [];
  for (let seed = 1; seed <= 2_000; seed++) {
    const failure = runRollout(seed);
    if (failure !== undefined) failures.push(failure);
    if (failures.length >= 5) break;
  }
  t.deepEqual(failures, []);
});

test('2,000 seeded rollouts scaled once mid-rollout (proportionally when both sets are active) keep the moving bound and finish', (t) => {
  const failures: string[] = [];
  for (let seed = 1; seed <= 2_000; seed++) {
    const failure = runRollout(seed, true);
    if (failure !== undefined) failures.push(failure);
    if (failures.length >= 5) break;
  }
  t.deepEqual(failures, []);
});
