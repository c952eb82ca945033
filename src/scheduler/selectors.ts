// Label selectors (matchLabels, matchExpressions: In, NotIn, Exists, DoesNotExist) for pod affinity
// and topology spread, and node selector terms (also Gt, Lt, and matchFields on metadata.name) for
// node affinity. Pure. A selector that is absent matches nothing for affinity terms, as Kubernetes.

import { arrayField, objectField, stringField, type Json } from './model.js';

function valuesOf(requirement: Json): string[] {
  const values = requirement['values'];
  return Array.isArray(values) ? values.filter((value): value is string => typeof value === 'string') : [];
}

function matchesRequirement(requirement: Json, labels: Readonly<Record<string, string>>): boolean {
  const key = stringField(requirement, 'key');
  const value = labels[key];
  const values = valuesOf(requirement);
  switch (stringField(requirement, 'operator')) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const bound = Number(values[0]);
      const actual = Number(value);
      if (value === undefined || values.length !== 1 || !Number.isInteger(bound) || !Number.isInteger(actual)) return false;
      return stringField(requirement, 'operator') === 'Gt' ? actual > bound : actual < bound;
    }
    default:
      return false;
  }
}

/** metav1.LabelSelector; an empty selector ({}) matches everything. */
export function matchesLabelSelector(selector: Json | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined) return false;
  const matchLabels = objectField(selector, 'matchLabels') ?? {};
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  return arrayField(selector, 'matchExpressions').every((requirement) => matchesRequirement(requirement, labels));
}

/** One NodeSelectorTerm: its expressions and fields all hold. A term with neither matches nothing. */
export function matchesNodeSelectorTerm(term: Json, nodeName: string, labels: Readonly<Record<string, string>>): boolean {
  const expressions = arrayField(term, 'matchExpressions');
  const fields = arrayField(term, 'matchFields');
  if (expressions.length === 0 && fields.length === 0) return false;
  return (
    expressions.every((requirement) => matchesRequirement(requirement, labels)) &&
    fields.every((requirement) => stringField(requirement, 'key') === 'metadata.name' && matchesRequirement({ ...requirement, key: 'name' }, { name: nodeName }))
  );
}

/** A NodeSelector: its terms are ORed. */
export function matchesNodeSelector(selector: Json, nodeName: string, labels: Readonly<Record<string, string>>): boolean {
  return arrayField(selector, 'nodeSelectorTerms').some((term) => matchesNodeSelectorTerm(term, nodeName, labels));
}
