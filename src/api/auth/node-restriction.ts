// Node restriction (Kubernetes' NodeRestriction admission plugin, kplane's version): RBAC's
// system:node role lets every node agent write nodes, leases and pods; this check narrows each
// write to the agent's own objects. A user system:node:<n> in group system:nodes may write Node <n>
// (and its status), Lease <n> in kube-node-lease, the status of pods bound to <n>, and delete pods
// bound to <n>; events are left to RBAC. Every other write by a node is denied with a 403 that says
// what was refused. Reads are not admission's business (RBAC decides them).

import type { AuthorizationDecision, RequestAttributes } from '../auth-types.js';
import type { AdmissionCheck } from '../handlers/types.js';
import { isObject, type JsonObject } from '../registry/types.js';

export const NODES_GROUP = 'system:nodes';
export const NODE_USER_PREFIX = 'system:node:';
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

const ALLOWED: AuthorizationDecision = { allowed: true, reason: '' };

/** The node a user speaks for, or undefined when the user is not a node agent. */
export function nodeNameOf(user: { readonly name: string; readonly groups: readonly string[] }): string | undefined {
  if (!user.groups.includes(NODES_GROUP) || !user.name.startsWith(NODE_USER_PREFIX)) return undefined;
  const name = user.name.slice(NODE_USER_PREFIX.length);
  return name === '' ? undefined : name;
}

function nameOf(object: JsonObject | undefined): string | undefined {
  const metadata = object === undefined ? undefined : object['metadata'];
  return isObject(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : undefined;
}

function boundNodeOf(pod: JsonObject | undefined): string | undefined {
  const spec = pod === undefined ? undefined : pod['spec'];
  return isObject(spec) && typeof spec['nodeName'] === 'string' && spec['nodeName'] !== '' ? spec['nodeName'] : undefined;
}

type ResourceAttributes = RequestAttributes & { readonly kind: 'resource' };

function deny(attributes: ResourceAttributes, name: string | undefined, detail: string): AuthorizationDecision {
  const what = `${attributes.resource}${attributes.apiGroup === '' ? '' : `.${attributes.apiGroup}`}`;
  return { allowed: false, reason: `${what}${name === undefined ? '' : ` "${name}"`} is forbidden: ${detail}` };
}

function admitNode(node: string, attributes: ResourceAttributes, objects: { readonly oldObject?: JsonObject; readonly newObject?: JsonObject }): AuthorizationDecision {
  const target = attributes.name ?? nameOf(objects.newObject) ?? nameOf(objects.oldObject);
  if (attributes.subresource !== undefined && attributes.subresource !== 'status') {
    return deny(attributes, target, `node "${node}" may not use the ${attributes.subresource} subresource of nodes`);
  }
  if (attributes.verb === 'deletecollection' || target !== node) return deny(attributes, target, `node "${node}" is not allowed to modify node "${target ?? ''}"`);
  return ALLOWED;
}

function admitLease(node: string, attributes: ResourceAttributes, objects: { readonly oldObject?: JsonObject; readonly newObject?: JsonObject }): AuthorizationDecision {
  const target = attributes.name ?? nameOf(objects.newObject) ?? nameOf(objects.oldObject);
  if (attributes.namespace !== NODE_LEASE_NAMESPACE || target !== node || attributes.verb === 'deletecollection') {
    return deny(attributes, target, `node "${node}" can only access its own lease ("${node}" in namespace "${NODE_LEASE_NAMESPACE}")`);
  }
  return ALLOWED;
}

function admitPod(node: string, attributes: ResourceAttributes, objects: { readonly oldObject?: JsonObject; readonly newObject?: JsonObject }): AuthorizationDecision {
  const target = attributes.name ?? nameOf(objects.newObject) ?? nameOf(objects.oldObject);
  const bound = boundNodeOf(objects.oldObject);
  if (attributes.subresource === 'status' && (attributes.verb === 'update' || attributes.verb === 'patch')) {
    return bound === node ? ALLOWED : deny(attributes, target, `node "${node}" can only update pod status for pods with spec.nodeName set to itself`);
  }
  if (attributes.subresource === undefined && attributes.verb === 'delete') {
    return bound === node ? ALLOWED : deny(attributes, target, `node "${node}" can only delete pods with spec.nodeName set to itself`);
  }
  const what = attributes.subresource === undefined ? 'pods' : `pods/${attributes.subresource}`;
  return deny(attributes, target, `node "${node}" is not allowed to ${attributes.verb} ${what}`);
}

/** The admission check: pass it in startApiServer's `admission`. */
export const nodeRestriction: AdmissionCheck = (attributes, objects) => {
  if (attributes.kind !== 'resource') return ALLOWED;
  const node = nodeNameOf(attributes.user);
  if (node === undefined) return ALLOWED;
  const { apiGroup, resource } = attributes;
  if (apiGroup === '' && resource === 'nodes') return admitNode(node, attributes, objects);
  if (apiGroup === 'coordination.k8s.io' && resource === 'leases') return admitLease(node, attributes, objects);
  if (apiGroup === '' && resource === 'pods') return admitPod(node, attributes, objects);
  if ((apiGroup === '' || apiGroup === 'events.k8s.io') && resource === 'events') return ALLOWED;
  return deny(attributes, attributes.name ?? nameOf(objects.newObject), `node "${node}" is not allowed to ${attributes.verb} ${resource}${apiGroup === '' ? '' : `.${apiGroup}`}`);
};
