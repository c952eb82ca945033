// RBAC authorization (rbac.authorization.k8s.io/v1) over an in-memory copy of the four RBAC kinds.
// `RbacCache` is the sink rbac-sync.ts keeps current from the store; `RbacAuthorizer` answers with
// Kubernetes' rules: a request is allowed when some binding that names the user (User, Group, or
// ServiceAccount subject) points at a role with a rule that covers it. ClusterRoleBindings apply
// everywhere; RoleBindings only in their namespace (to a Role there or to a ClusterRole). Rules
// match verbs, API groups, resources (`resource/subresource`, `*/subresource`, `*`) and
// resourceNames, or non-resource URLs (exact, `*`, or a prefix ending in `*`). ClusterRoles with an
// aggregationRule also carry the rules of the ClusterRoles their selectors pick. The group
// system:masters is always allowed, as Kubernetes' superuser group. Denials leave the reason empty
// (the pipeline writes Kubernetes' "... is forbidden: User ... cannot ..." sentence) unless a
// binding points at a missing role, which is named, as kube-apiserver does.

import type { AuthorizationDecision, Authorizer, RequestAttributes, UserInfo } from '../auth-types.js';
import type { RbacCacheSink, RbacKind } from '../rbac-sync.js';
import { isObject, type JsonObject } from '../registry/types.js';

export const SUPERUSER_GROUP = 'system:masters';
const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export interface PolicyRule {
  readonly verbs: readonly string[];
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames: readonly string[];
  readonly nonResourceURLs: readonly string[];
}

export interface Subject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values: readonly string[];
}

interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelSelectorRequirement[];
}

interface RoleEntry {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly rules: readonly PolicyRule[];
  /** ClusterRoles only: the selectors of an aggregationRule. */
  readonly aggregation?: readonly LabelSelector[];
}

interface BindingEntry {
  readonly name: string;
  readonly namespace?: string;
  readonly roleKind: string;
  readonly roleName: string;
  readonly subjects: readonly Subject[];
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (isObject(value)) for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

function metadataOf(object: JsonObject): { name: string; namespace: string | undefined; labels: Record<string, string> } {
  const metadata = isObject(object['metadata']) ? object['metadata'] : {};
  const namespace = text(metadata['namespace']);
  return { name: text(metadata['name']), namespace: namespace === '' ? undefined : namespace, labels: stringMap(metadata['labels']) };
}

export function parseRule(value: unknown): PolicyRule {
  const rule = isObject(value) ? value : {};
  return {
    verbs: strings(rule['verbs']),
    apiGroups: strings(rule['apiGroups']),
    resources: strings(rule['resources']),
    resourceNames: strings(rule['resourceNames']),
    nonResourceURLs: strings(rule['nonResourceURLs']),
  };
}

function parseRole(object: JsonObject): RoleEntry {
  const { name, labels } = metadataOf(object);
  const rules = Array.isArray(object['rules']) ? object['rules'].map(parseRule) : [];
  const aggregationRule = object['aggregationRule'];
  if (!isObject(aggregationRule) || !Array.isArray(aggregationRule['clusterRoleSelectors'])) return { name, labels, rules };
  const aggregation = aggregationRule['clusterRoleSelectors'].filter(isObject).map(
    (selector): LabelSelector => ({
      matchLabels: stringMap(selector['matchLabels']),
      matchExpressions: (Array.isArray(selector['matchExpressions']) ? selector['matchExpressions'] : [])
        .filter(isObject)
        .map((requirement) => ({ key: text(requirement['key']), operator: text(requirement['operator']), values: strings(requirement['values']) })),
    }),
  );
  return { name, labels, rules, aggregation };
}

function parseBinding(object: JsonObject): BindingEntry {
  const { name, namespace } = metadataOf(object);
  const roleRef = isObject(object['roleRef']) ? object['roleRef'] : {};
  const subjects = (Array.isArray(object['subjects']) ? object['subjects'] : []).filter(isObject).map((subject): Subject => {
    const subjectNamespace = text(subject['namespace']);
    return { kind: text(subject['kind']), name: text(subject['name']), ...(subjectNamespace === '' ? {} : { namespace: subjectNamespace }) };
  });
  return { name, ...(namespace === undefined ? {} : { namespace }), roleKind: text(roleRef['kind']), roleName: text(roleRef['name']), subjects };
}

function selectorMatches(selector: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) if (labels[key] !== value) return false;
  for (const requirement of selector.matchExpressions) {
    const present = Object.hasOwn(labels, requirement.key);
    const value = labels[requirement.key];
    switch (requirement.operator) {
      case 'In':
        if (!present || !requirement.values.includes(value ?? '')) return false;
        break;
      case 'NotIn':
        if (present && requirement.values.includes(value ?? '')) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  // An empty selector selects nothing in an aggregation rule (as Kubernetes' controller treats it).
  return Object.keys(selector.matchLabels).length > 0 || selector.matchExpressions.length > 0;
}

/** The in-memory copy of the RBAC objects; rbac-sync.ts keeps it current. */
export class RbacCache implements RbacCacheSink {
  readonly clusterRoles = new Map<string, RoleEntry>();
  readonly clusterRoleBindings = new Map<string, BindingEntry>();
  /** namespace → name → entry */
  readonly roles = new Map<string, Map<string, RoleEntry>>();
  readonly roleBindings = new Map<string, Map<string, BindingEntry>>();

  upsert(kind: RbacKind, object: JsonObject): void {
    const { name, namespace } = metadataOf(object);
    if (name === '') return;
    switch (kind) {
      case 'ClusterRole':
        this.clusterRoles.set(name, parseRole(object));
        return;
      case 'ClusterRoleBinding':
        this.clusterRoleBindings.set(name, parseBinding(object));
        return;
      case 'Role':
        if (namespace !== undefined) inNamespace(this.roles, namespace).set(name, parseRole(object));
        return;
      case 'RoleBinding':
        if (namespace !== undefined) inNamespace(this.roleBindings, namespace).set(name, parseBinding(object));
        return;
    }
  }

  remove(kind: RbacKind, namespace: string | undefined, name: string): void {
    switch (kind) {
      case 'ClusterRole':
        this.clusterRoles.delete(name);
        return;
      case 'ClusterRoleBinding':
        this.clusterRoleBindings.delete(name);
        return;
      case 'Role':
        removeNamespaced(this.roles, namespace, name);
        return;
      case 'RoleBinding':
        removeNamespaced(this.roleBindings, namespace, name);
        return;
    }
  }

  /** A ClusterRole's rules including those aggregated into it; undefined when it does not exist. */
  clusterRoleRules(name: string, visiting: Set<string> = new Set()): readonly PolicyRule[] | undefined {
    const role = this.clusterRoles.get(name);
    if (role === undefined) return undefined;
    if (role.aggregation === undefined || visiting.has(name)) return role.rules;
    visiting.add(name);
    const rules = [...role.rules];
    for (const other of this.clusterRoles.values()) {
      if (other.name === name || !role.aggregation.some((selector) => selectorMatches(selector, other.labels))) continue;
      rules.push(...(this.clusterRoleRules(other.name, visiting) ?? []));
    }
    return rules;
  }
}

function inNamespace<T>(byNamespace: Map<string, Map<string, T>>, namespace: string): Map<string, T> {
  let entries = byNamespace.get(namespace);
  if (entries === undefined) {
    entries = new Map();
    byNamespace.set(namespace, entries);
  }
  return entries;
}

function removeNamespaced<T>(byNamespace: Map<string, Map<string, T>>, namespace: string | undefined, name: string): void {
  if (namespace === undefined) return;
  const entries = byNamespace.get(namespace);
  entries?.delete(name);
  if (entries?.size === 0) byNamespace.delete(namespace);
}

/** Does this subject name the user? `bindingNamespace` fills in a ServiceAccount subject's namespace. */
export function subjectMatches(subject: Subject, user: UserInfo, bindingNamespace: string | undefined): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === user.name;
    case 'Group':
      return user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const namespace = subject.namespace ?? bindingNamespace;
      return namespace !== undefined && namespace !== '' && user.name === `${SERVICE_ACCOUNT_PREFIX}${namespace}:${subject.name}`;
    }
    default:
      return false;
  }
}

function describeSubject(subject: Subject, bindingNamespace: string | undefined): string {
  if (subject.kind === 'ServiceAccount') return `ServiceAccount "${subject.name}/${subject.namespace ?? bindingNamespace ?? ''}"`;
  return `${subject.kind} "${subject.name}"`;
}

const covers = (allowed: readonly string[], requested: string): boolean => allowed.includes('*') || allowed.includes(requested);

function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource === undefined ? resource : `${resource}/${subresource}`;
  for (const ruleResource of rule.resources) {
    if (ruleResource === '*' || ruleResource === combined) return true;
    if (subresource !== undefined && ruleResource === `*/${subresource}`) return true;
  }
  return false;
}

function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const url of rule.nonResourceURLs) {
    if (url === '*' || url === path) return true;
    if (url.endsWith('*') && path.startsWith(url.slice(0, -1))) return true;
  }
  return false;
}

/** Does one rule allow the request? (Kubernetes' RuleAllows.) */
export function ruleAllows(rule: PolicyRule, attributes: RequestAttributes): boolean {
  if (!covers(rule.verbs, attributes.verb)) return false;
  if (attributes.kind === 'nonResource') return nonResourceURLMatches(rule, attributes.path);
  if (!covers(rule.apiGroups, attributes.apiGroup)) return false;
  if (!resourceMatches(rule, attributes.resource, attributes.subresource)) return false;
  if (rule.resourceNames.length === 0) return true;
  return attributes.name !== undefined && attributes.name !== '' && rule.resourceNames.includes(attributes.name);
}

export interface RbacAuthorizerOptions {
  /** Groups that are always allowed (default: system:masters). */
  readonly superuserGroups?: readonly string[];
}

export class RbacAuthorizer implements Authorizer {
  private readonly superuserGroups: readonly string[];

  constructor(
    readonly cache: RbacCache = new RbacCache(),
    options: RbacAuthorizerOptions = {},
  ) {
    this.superuserGroups = options.superuserGroups ?? [SUPERUSER_GROUP];
  }

  authorize(attributes: RequestAttributes): AuthorizationDecision {
    const { user } = attributes;
    const superuser = user.groups.find((group) => this.superuserGroups.includes(group));
    if (superuser !== undefined) return { allowed: true, reason: `allowed: the user is in the superuser group "${superuser}"` };
    const missing: string[] = [];

    for (const binding of this.cache.clusterRoleBindings.values()) {
      const subject = binding.subjects.find((candidate) => subjectMatches(candidate, user, undefined));
      if (subject === undefined) continue;
      if (binding.roleKind !== 'ClusterRole') continue;
      const rules = this.cache.clusterRoleRules(binding.roleName);
      if (rules === undefined) {
        missing.push(`clusterrole.rbac.authorization.k8s.io "${binding.roleName}" not found`);
        continue;
      }
      if (rules.some((rule) => ruleAllows(rule, attributes))) {
        return { allowed: true, reason: `RBAC: allowed by ClusterRoleBinding "${binding.name}" of ClusterRole "${binding.roleName}" to ${describeSubject(subject, undefined)}` };
      }
    }

    const namespace = attributes.kind === 'resource' ? attributes.namespace : undefined;
    if (namespace !== undefined && namespace !== '') {
      for (const binding of this.cache.roleBindings.get(namespace)?.values() ?? []) {
        const subject = binding.subjects.find((candidate) => subjectMatches(candidate, user, namespace));
        if (subject === undefined) continue;
        let rules: readonly PolicyRule[] | undefined;
        if (binding.roleKind === 'ClusterRole') rules = this.cache.clusterRoleRules(binding.roleName);
        else if (binding.roleKind === 'Role') rules = this.cache.roles.get(namespace)?.get(binding.roleName)?.rules;
        else continue;
        if (rules === undefined) {
          missing.push(`${binding.roleKind.toLowerCase()}.rbac.authorization.k8s.io "${binding.roleName}" not found`);
          continue;
        }
        if (rules.some((rule) => ruleAllows(rule, attributes))) {
          return {
            allowed: true,
            reason: `RBAC: allowed by RoleBinding "${binding.name}/${namespace}" of ${binding.roleKind} "${binding.roleName}" to ${describeSubject(subject, namespace)}`,
          };
        }
      }
    }
    return { allowed: false, reason: missing.length === 0 ? '' : `RBAC: ${missing.join(', ')}` };
  }
}

/** A fresh cache and the authorizer over it: pass `authorizer` and `rbacCache: cache` to startApiServer. */
export function createRbacAuthorizer(options: RbacAuthorizerOptions = {}): { readonly authorizer: RbacAuthorizer; readonly cache: RbacCache } {
  const cache = new RbacCache();
  return { authorizer: new RbacAuthorizer(cache, options), cache };
}
