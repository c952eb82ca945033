// rbac.authorization.k8s.io/v1: roles, clusterroles, rolebindings, clusterrolebindings. Names may
// contain ':' (system:node), so they are checked as path segments rather than DNS names.

import { causes, type StatusCause } from '../status.js';
import { READ_WRITE_VERBS, isObject, objectsOf, type FieldSchema, type JsonObject, type ResourceDefinition } from './types.js';

const str: FieldSchema = { type: 'string' };
const strings: FieldSchema = { type: 'array', items: str };
const anyObject: FieldSchema = { type: 'object', additionalProperties: { type: 'any' } };

const ruleSchema: FieldSchema = {
  type: 'object',
  required: ['verbs'],
  properties: { verbs: strings, apiGroups: strings, resources: strings, resourceNames: strings, nonResourceURLs: strings },
};
const roleSchema: FieldSchema = {
  type: 'object',
  properties: { apiVersion: str, kind: str, metadata: anyObject, rules: { type: 'array', items: ruleSchema }, aggregationRule: anyObject },
};
const bindingSchema: FieldSchema = {
  type: 'object',
  required: ['roleRef'],
  properties: {
    apiVersion: str,
    kind: str,
    metadata: anyObject,
    roleRef: { type: 'object', required: ['apiGroup', 'kind', 'name'], properties: { apiGroup: str, kind: str, name: str } },
    subjects: { type: 'array', items: { type: 'object', required: ['kind', 'name'], properties: { kind: str, name: str, namespace: str, apiGroup: str } } },
  },
};

function validateBinding(binding: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  const roleRef = binding['roleRef'];
  if (isObject(roleRef) && roleRef['kind'] !== 'Role' && roleRef['kind'] !== 'ClusterRole')
    out.push(causes.notSupported('roleRef.kind', roleRef['kind'], ['Role', 'ClusterRole']));
  objectsOf(binding['subjects']).forEach((subject, index) => {
    if (!['User', 'Group', 'ServiceAccount'].includes(String(subject['kind'])))
      out.push(causes.notSupported(`subjects[${index}].kind`, subject['kind'], ['ServiceAccount', 'User', 'Group']));
  });
  if (old !== undefined && JSON.stringify(old['roleRef']) !== JSON.stringify(roleRef)) out.push(causes.invalid('roleRef', roleRef, 'cannot change roleRef'));
  return out;
}

function rbac(kind: string, plural: string, namespaced: boolean, schema: FieldSchema, binding: boolean): ResourceDefinition {
  return {
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames: [],
    namespaced,
    verbs: READ_WRITE_VERBS,
    subresources: [],
    categories: [],
    schema,
    hasStatusSubresource: false,
    ...(binding ? { validate: validateBinding } : {}),
  };
}

export const roles = rbac('Role', 'roles', true, roleSchema, false);
export const clusterroles = rbac('ClusterRole', 'clusterroles', false, roleSchema, false);
export const rolebindings = rbac('RoleBinding', 'rolebindings', true, bindingSchema, true);
export const clusterrolebindings = rbac('ClusterRoleBinding', 'clusterrolebindings', false, bindingSchema, true);

export const rbacResources: readonly ResourceDefinition[] = [roles, clusterroles, rolebindings, clusterrolebindings];
