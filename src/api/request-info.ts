// Parses a request's method, path and query into Kubernetes' request info: a resource request
// (group, version, namespace, resource, name, subresource, verb) or a non-resource one (discovery,
// /healthz, /version). Pure: no registry lookups; whether the resource exists is the router's call.

export type RequestInfo =
  | {
      readonly kind: 'resource';
      readonly verb: string;
      readonly apiGroup: string;
      readonly apiVersion: string;
      readonly namespace?: string;
      readonly resource: string;
      readonly name?: string;
      readonly subresource?: string;
      /** Path segments after the subresource (pods/x/proxy/a/b): unsupported, kept for the 404. */
      readonly rest: readonly string[];
    }
  | { readonly kind: 'nonResource'; readonly verb: string; readonly path: string };

/** Subresources of a namespace that are not resources in it (Kubernetes' namespaceSubresources). */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function isWatchRequested(query: URLSearchParams): boolean {
  const watch = query.get('watch');
  return watch === '1' || watch === 'true';
}

export function parseRequestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const lowerMethod = method.toLowerCase();
  const nonResource: RequestInfo = { kind: 'nonResource', verb: lowerMethod, path };
  const parts = path.split('/').filter((part) => part !== '');
  let rest: string[];
  let apiGroup: string;
  let apiVersion: string;
  if (parts[0] === 'api') {
    if (parts.length < 3) return nonResource; // /api, /api/v1 are discovery
    apiGroup = '';
    apiVersion = parts[1] ?? '';
    rest = parts.slice(2);
  } else if (parts[0] === 'apis') {
    if (parts.length < 4) return nonResource;
    apiGroup = parts[1] ?? '';
    apiVersion = parts[2] ?? '';
    rest = parts.slice(3);
  } else return nonResource;

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? '')) rest = rest.slice(2);
  }
  const resource = rest[0] ?? '';
  const name = rest[1];
  const subresource = rest[2];

  let verb: string;
  switch (lowerMethod) {
    case 'get':
    case 'head':
      verb = name === undefined ? (isWatchRequested(query) ? 'watch' : 'list') : isWatchRequested(query) ? 'watch' : 'get';
      break;
    case 'post':
      verb = 'create';
      break;
    case 'put':
      verb = 'update';
      break;
    case 'patch':
      verb = 'patch';
      break;
    case 'delete':
      verb = name === undefined ? 'deletecollection' : 'delete';
      break;
    default:
      verb = lowerMethod;
  }
  return {
    kind: 'resource',
    verb,
    apiGroup,
    apiVersion,
    resource,
    rest: rest.slice(3),
    ...(namespace === undefined ? {} : { namespace }),
    ...(name === undefined ? {} : { name }),
    ...(subresource === undefined ? {} : { subresource }),
  };
}
