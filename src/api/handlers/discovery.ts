// Discovery and server information: /version, /healthz|livez|readyz, legacy discovery (/api,
// /apis, /api/v1, /apis/<g>, /apis/<g>/<v>) and aggregated discovery (apidiscovery.k8s.io v2 and
// v2beta1, negotiated from Accept, answered with exactly the negotiated Content-Type, as kubectl
// requires). All documents are generated from the registry.

import type { Registry } from '../registry/index.js';
import type { ResourceDefinition } from '../registry/types.js';
import { apiVersionOf } from '../registry/types.js';
import type { ApiResponse } from './types.js';

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-kplane',
  gitCommit: 'unknown',
  gitTreeState: 'clean',
  buildDate: '1970-01-01T00:00:00Z',
  goVersion: 'n/a (node)',
  compiler: 'tsc',
  platform: 'linux/amd64',
} as const;

export function apiResourceList(registry: Registry, group: string, version: string): unknown {
  const groupVersion = registry.groupVersion(group, version);
  if (groupVersion === undefined) return undefined;
  const resources: unknown[] = [];
  for (const definition of groupVersion.resources) {
    resources.push({
      name: definition.plural,
      singularName: definition.singular,
      namespaced: definition.namespaced,
      kind: definition.kind,
      verbs: definition.verbs,
      ...(definition.shortNames.length > 0 ? { shortNames: definition.shortNames } : {}),
      ...(definition.categories.length > 0 ? { categories: definition.categories } : {}),
    });
    for (const sub of definition.subresources) {
      resources.push({
        name: `${definition.plural}/${sub.name}`,
        singularName: '',
        namespaced: definition.namespaced,
        ...(sub.kind === undefined ? { kind: definition.kind } : { group: sub.kind.group, version: sub.kind.version, kind: sub.kind.kind }),
        verbs: sub.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf({ group, version }), resources };
}

function apiGroup(registry: Registry, group: string): unknown {
  const versions = registry.groupVersions.filter((entry) => entry.group === group).map((entry) => ({ groupVersion: `${group}/${entry.version}`, version: entry.version }));
  if (versions.length === 0) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', name: group, versions, preferredVersion: versions[0] };
}

function aggregatedResource(definition: ResourceDefinition): unknown {
  return {
    resource: definition.plural,
    responseKind: { group: definition.group, version: definition.version, kind: definition.kind },
    scope: definition.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: definition.singular,
    verbs: definition.verbs,
    ...(definition.shortNames.length > 0 ? { shortNames: definition.shortNames } : {}),
    ...(definition.categories.length > 0 ? { categories: definition.categories } : {}),
    ...(definition.subresources.length > 0
      ? {
          subresources: definition.subresources.map((sub) => ({
            subresource: sub.name,
            responseKind: sub.kind ?? { group: definition.group, version: definition.version, kind: definition.kind },
            verbs: sub.verbs,
          })),
        }
      : {}),
  };
}

function aggregated(registry: Registry, core: boolean, version: 'v2' | 'v2beta1'): unknown {
  const groups = core ? [''] : registry.groups();
  const items = groups.map((group) => ({
    metadata: group === '' ? { creationTimestamp: null } : { name: group, creationTimestamp: null },
    versions: registry.groupVersions
      .filter((entry) => entry.group === group)
      .map((entry) => ({ version: entry.version, freshness: 'Current', resources: entry.resources.map(aggregatedResource) })),
  }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
}

/** Which aggregated discovery version the client accepts, if any (first listed wins). */
export function negotiateAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  for (const entry of (accept ?? '').split(',')) {
    const params = entry.split(';').map((part) => part.trim());
    if (!params.includes('as=APIGroupDiscoveryList') || !params.includes('g=apidiscovery.k8s.io')) continue;
    if (params.includes('v=v2')) return 'v2';
    if (params.includes('v=v2beta1')) return 'v2beta1';
  }
  return undefined;
}

/** Answer a non-resource GET, or undefined when the path is not one of ours. */
export function discoveryResponse(registry: Registry, path: string, accept: string | undefined, serverAddress: string): ApiResponse | undefined {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  switch (trimmed) {
    case '/version':
      return { status: 200, body: VERSION_INFO };
    case '/healthz':
    case '/livez':
    case '/readyz':
      return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, text: 'ok' };
    case '/api':
    case '/apis': {
      const version = negotiateAggregated(accept);
      if (version !== undefined) {
        const contentType = `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
        return { status: 200, headers: { 'content-type': contentType }, body: aggregated(registry, trimmed === '/api', version) };
      }
      if (trimmed === '/api') return { status: 200, body: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] } };
      return {
        status: 200,
        body: { kind: 'APIGroupList', apiVersion: 'v1', groups: registry.groups().map((group) => apiGroup(registry, group)) },
      };
    }
    default:
      break;
  }
  const parts = trimmed.split('/').filter((part) => part !== '');
  if (parts[0] === 'api' && parts.length === 2) {
    const body = apiResourceList(registry, '', parts[1] ?? '');
    return body === undefined ? undefined : { status: 200, body };
  }
  if (parts[0] === 'apis' && parts.length === 2) {
    const body = apiGroup(registry, parts[1] ?? '');
    return body === undefined ? undefined : { status: 200, body };
  }
  if (parts[0] === 'apis' && parts.length === 3) {
    const body = apiResourceList(registry, parts[1] ?? '', parts[2] ?? '');
    return body === undefined ? undefined : { status: 200, body };
  }
  return undefined;
}
