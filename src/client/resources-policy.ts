// Resource types of the policy-like kinds the controllers watch (PodDisruptionBudgets,
// ResourceQuotas, PriorityClasses), kept apart from resources.ts so each addition stays small.

import type { ResourceType } from './resources.js';

export const PODDISRUPTIONBUDGETS: ResourceType = { group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true };
export const RESOURCEQUOTAS: ResourceType = { group: '', version: 'v1', resource: 'resourcequotas', kind: 'ResourceQuota', namespaced: true };
export const PRIORITYCLASSES: ResourceType = { group: 'scheduling.k8s.io', version: 'v1', resource: 'priorityclasses', kind: 'PriorityClass', namespaced: false };
export const INGRESSES: ResourceType = { group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', kind: 'Ingress', namespaced: true };
