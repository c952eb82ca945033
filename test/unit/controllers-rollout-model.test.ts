// The rolling-update arithmetic (deployment-plan.ts) against a model of the cluster, over many seeds:
// the Deployment step, ReplicaSet controllers that delete ANY active pod when scaled down (worse than the
// real one, which prefers unready pods), pods becoming ready and terminating pods going away, in an
// order drawn from the seed. Invariant 5 is checked after every event, and every rollout must finish.

import test from 'ava';
import { Prng } from '../../src/actors/random.js';
import { nextNewSetReplicas, nextOldSetReplicas, rollingLimits, type ReplicaSetCounts, type RolloutState } from '../../src/controllers/deployment-plan.js';

type PodState = 'starting' | 'ready' | 'terminating';

interface ModelSet {
  readonly name: string;
  desired: number;
  readonly pods: PodState[];
}

function counts(set: ModelSet): ReplicaSetCounts {
  const active = set.pods.filter((pod) => pod !== 'terminating');
  return { name: set.name, desired: set.desired, activePods: active.length, availablePods: active.filter((pod) => pod === 'ready').length };
}

function runRollout(seed: number): string | undefined {
  const random = new Prng(seed);
  const replicas = random.between(1, 12);
  const surgeOptions: (number | string)[] = [0, 1, 2, '25%', '50%'];
  const unavailableOptions: (number | string)[] = [0, 1, 2, '25%', '10%'];
  const maxSurge = random.pick(surgeOptions);
  const maxUnavailable = random.pick(unavailableOptions);
  const limits = rollingLimits(replicas, maxSurge, maxUnavailable);
  const old: ModelSet = { name: 'old', desired: replicas, pods: Array.from({ length: replicas }, () => 'ready' as PodState) };
  const fresh: ModelSet = { name: 'new', desired: 0, pods: [] };
  const sets = [fresh, old];
  const where = `seed ${seed}: replicas ${replicas}, maxSurge ${maxSurge}, maxUnavailable ${maxUnavailable}`;
  const check = (event: string): string | undefined => {
    const present = sets.reduce((total, set) => total + set.pods.length, 0);
    const available = sets.reduce((total, set) => total + set.pods.filter((pod) => pod === 'ready').length, 0);
    if (present > replicas + limits.maxSurge) return `${where}: ${present} pods after ${event}`;
    if (available < replicas - limits.maxUnavailable) return `${where}: ${available} available after ${event}`;
    return undefined;
  };
  const deploymentStep = (): void => {
    const state: RolloutState = { replicas, limits, newSet: counts(fresh), oldSets: [counts(old)], terminatingPods: sets.reduce((total, set) => total + set.pods.filter((pod) => pod === 'terminating').length, 0) };
    const next = nextNewSetReplicas(state);
    if (next !== fresh.desired) {
      const grew = next > fresh.desired;
      fresh.desired = next;
      if (grew) return;
    }
    const changes = nextOldSetReplicas({ ...state, newSet: counts(fresh) });
    const oldNext = changes.get('old');
    if (oldNext !== undefined) old.desired = oldNext;
  };
  const replicaSetStep = (set: ModelSet): void => {
    const active = set.pods.filter((pod) => pod !== 'terminating').length;
    if (active < set.desired) set.pods.push('starting');
    else if (active > set.desired) {
      const candidates = set.pods.map((pod, index) => [pod, index] as const).filter(([pod]) => pod !== 'terminating');
      const [, index] = random.pick(candidates);
      set.pods[index] = 'terminating';
    }
  };
  const done = (): boolean => fresh.desired === replicas && old.desired === 0 && old.pods.length === 0 && fresh.pods.length === replicas && fresh.pods.every((pod) => pod === 'ready');
  for (let step = 0; step < 5_000 && !done(); step++) {
    const roll = random.int(5);
    let event: string;
    if (roll === 0) {
      deploymentStep();
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
