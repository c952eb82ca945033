// rbac.authorization.k8s.io/v1: roles, clusterroles, rolebindings, clusterrolebindings. Names may
// contain ':' (system:node), so they are checked as path segments rather than DNS names.

import { causes, type StatusCause } from '../status.js';
import { typeAndObjectMeta } from './meta.js';
import { READ_WRITE_VERBS, isObject, jsonEqual, objectsOf, type FieldSchema, type JsonObject, type ResourceDefinition } from './types.js';

const str: FieldSchema = { type: 'string' };

const strings = (description: string): FieldSchema => ({ type: 'array', items: str, description });

const ruleSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.rbac.v1.PolicyRule',
  description: 'PolicyRule holds information that describes a policy rule, but does not contain information about who the rule applies to or which namespace the rule applies to.',
  required: ['verbs'],
  properties: {
    verbs: strings("Verbs is a list of Verbs that apply to ALL the ResourceKinds contained in this rule. '*' represents all verbs."),
    apiGroups: strings('APIGroups is the name of the APIGroup that contains the resources. "" represents the core API group and "*" represents all API groups.'),
    resources: strings("Resources is a list of resources this rule applies to. '*' represents all resources."),
    resourceNames: strings('ResourceNames is an optional white list of names that the rule applies to. An empty set means that everything is allowed.'),
    nonResourceURLs: strings('NonResourceURLs is a set of partial urls that a user should have access to. *s are allowed, but only as the full, final step in the path.'),
  },
};
const roleSchema: FieldSchema = {
  type: 'object',
  properties: {
    ...typeAndObjectMeta,
    rules: { type: 'array', items: ruleSchema, description: 'Rules holds all the PolicyRules for this role.' },
    aggregationRule: { type: 'object', additionalProperties: { type: 'any' }, description: 'AggregationRule is an optional field that describes how to build the Rules for this ClusterRole.' },
  },
};
const bindingSchema: FieldSchema = {
  type: 'object',
  required: ['roleRef'],
  properties: {
    ...typeAndObjectMeta,
    roleRef: {
      type: 'object',
      typeName: 'io.k8s.api.rbac.v1.RoleRef',
      description: 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. This field is immutable.',
      required: ['apiGroup', 'kind', 'name'],
      properties: {
        apiGroup: { type: 'string', description: 'APIGroup is the group for the resource being referenced.' },
        kind: { type: 'string', description: 'Kind is the type of resource being referenced.' },
        name: { type: 'string', description: 'Name is the name of resource being referenced.' },
      },
    },
    subjects: {
      type: 'array',
      description: 'Subjects holds references to the objects the role applies to.',
      items: {
        type: 'object',
        typeName: 'io.k8s.api.rbac.v1.Subject',
        required: ['kind', 'name'],
        properties: {
          kind: { type: 'string', description: 'Kind of object being referenced. Values defined by this API group are "User", "Group", and "ServiceAccount".' },
          name: { type: 'string', description: 'Name of the object being referenced.' },
          namespace: { type: 'string', description: 'Namespace of the referenced object.' },
          apiGroup: { type: 'string', description: 'APIGroup holds the API group of the referenced subject.' },
        },
      },
    },
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
  if (old !== undefined && !jsonEqual(old['roleRef'], roleRef)) out.push(causes.invalid('roleRef', roleRef, 'cannot change roleRef'));
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
