// InterPodAffinity (filter): required pod affinity and anti-affinity, both ways. A node fails when a
// pod in its topology domain matches one of the incoming pod's anti-affinity terms, when the incoming
// pod matches an anti-affinity term of a pod in the node's domain (symmetry), or when an affinity term
// finds no matching pod in the domain (unless no pod anywhere matches and the pod matches its own
// term: the first pod of a group). Namespaces: the term's list, else the pod's own; a
// namespaceSelector of {} means every namespace (other namespace selectors are not supported yet).

import type { CycleState, Plugin } from '../framework.js';
import { arrayField, objectField, requiredAntiAffinityTerms, stringField, type Json, type PodInfo, type Snapshot } from '../model.js';
import { matchesLabelSelector } from '../selectors.js';

const STATE_KEY = 'InterPodAffinity';

interface AffinityState {
  /** `${term}\0${value}` of the incoming pod's anti-affinity terms that a pod in that domain matches. */
  readonly antiBlocked: Set<string>;
  /** `${topologyKey}\0${value}` domains where an existing pod's anti-affinity term matches the incoming pod. */
  readonly existingBlocked: Set<string>;
  /** Per affinity term: the domain values holding a matching pod. */
  readonly affinityDomains: Set<string>[];
  readonly affinityTerms: readonly Json[];
  readonly antiTerms: readonly Json[];
  /** No pod anywhere matches any affinity term, and the pod matches all its own terms. */
  readonly firstOfGroup: boolean;
}

function termMatches(term: Json, owner: PodInfo, candidate: PodInfo): boolean {
  const namespaces = term['namespaces'];
  const namespaceSelector = objectField(term, 'namespaceSelector');
  const allNamespaces = namespaceSelector !== undefined && Object.keys(namespaceSelector).length === 0;
  const listed = Array.isArray(namespaces) ? namespaces.filter((item): item is string => typeof item === 'string') : [];
  if (!allNamespaces) {
    if (listed.length > 0 ? !listed.includes(candidate.namespace) : candidate.namespace !== owner.namespace) return false;
  }
  return matchesLabelSelector(objectField(term, 'labelSelector'), candidate.labels);
}

function affinityTermsOf(pod: PodInfo): Json[] {
  return arrayField(objectField(objectField(pod.spec, 'affinity'), 'podAffinity'), 'requiredDuringSchedulingIgnoredDuringExecution');
}

function prepare(pod: PodInfo, snapshot: Snapshot): AffinityState {
  const antiTerms = requiredAntiAffinityTerms(pod);
  const affinityTerms = affinityTermsOf(pod);
  const antiBlocked = new Set<string>();
  const existingBlocked = new Set<string>();
  const affinityDomains = affinityTerms.map(() => new Set<string>());
  let anyAffinityMatch = false;
  if (antiTerms.length > 0 || affinityTerms.length > 0) {
    for (const node of snapshot.nodes) {
      for (const existing of node.pods.values()) {
        if (existing.key === pod.key) continue;
        antiTerms.forEach((term, index) => {
          const value = node.labels[stringField(term, 'topologyKey')];
          if (value !== undefined && termMatches(term, pod, existing)) antiBlocked.add(`${index}\0${value}`);
        });
        affinityTerms.forEach((term, index) => {
          const value = node.labels[stringField(term, 'topologyKey')];
          if (termMatches(term, pod, existing)) {
            anyAffinityMatch = true;
            if (value !== undefined) affinityDomains[index]?.add(value);
          }
        });
      }
    }
  }
  for (const existing of snapshot.podsWithAntiAffinity.values()) {
    if (existing.key === pod.key) continue;
    const node = snapshot.byName.get(existing.nodeName);
    if (node === undefined) continue;
    for (const term of requiredAntiAffinityTerms(existing)) {
      const topologyKey = stringField(term, 'topologyKey');
      const value = node.labels[topologyKey];
      if (value !== undefined && termMatches(term, existing, pod)) existingBlocked.add(`${topologyKey}\0${value}`);
    }
  }
  const firstOfGroup = !anyAffinityMatch && affinityTerms.every((term) => termMatches(term, pod, pod));
  return { antiBlocked, existingBlocked, affinityDomains, affinityTerms, antiTerms, firstOfGroup };
}

export const interPodAffinity: Plugin = {
  name: 'InterPodAffinity',
  preFilter(state: CycleState, pod, snapshot) {
    state.set(STATE_KEY, prepare(pod, snapshot));
    return undefined;
  },
  filter(state, _pod, node) {
    const prepared = state.get<AffinityState>(STATE_KEY);
    if (prepared === undefined) return undefined;
    for (const domain of prepared.existingBlocked) {
      const [key = '', value] = domain.split('\0');
      if (node.labels[key] === value) return { plugin: 'InterPodAffinity', reasons: ["node(s) didn't satisfy existing pods anti-affinity rules"] };
    }
    for (let index = 0; index < prepared.antiTerms.length; index++) {
      const value = node.labels[stringField(prepared.antiTerms[index], 'topologyKey')];
      if (value !== undefined && prepared.antiBlocked.has(`${index}\0${value}`)) return { plugin: 'InterPodAffinity', reasons: ["node(s) didn't match pod anti-affinity rules"] };
    }
    for (let index = 0; index < prepared.affinityTerms.length; index++) {
      const value = node.labels[stringField(prepared.affinityTerms[index], 'topologyKey')];
      const satisfied = value !== undefined && (prepared.firstOfGroup || prepared.affinityDomains[index]?.has(value) === true);
      if (!satisfied) return { plugin: 'InterPodAffinity', reasons: ["node(s) didn't match pod affinity rules"] };
    }
    return undefined;
  },
};
