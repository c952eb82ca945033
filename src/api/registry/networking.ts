// networking.k8s.io/v1 ingresses (short name ing) and ingressclasses: stored and validated as
// kube-apiserver does (rules with hosts, HTTP paths with a pathType, backends naming a service and a
// port by name or number, or a resource; a default backend; TLS). kplane runs no ingress
// controller: nothing routes traffic or fills status.loadBalancer, so ADDRESS stays empty.

import { causes, type StatusCause } from '../status.js';
import { typeAndObjectMeta } from './meta.js';
import { dns1123LabelError, dns1123SubdomainError } from './schema.js';
import { READ_WRITE_VERBS, STATUS_VERBS, isObject, objectsOf, type FieldSchema, type JsonObject, type ResourceDefinition } from './types.js';

const str: FieldSchema = { type: 'string' };
export const PATH_TYPES = ['Exact', 'Prefix', 'ImplementationSpecific'] as const;

const typedLocalObjectReferenceSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.core.v1.TypedLocalObjectReference',
  description: 'resource is an ObjectRef to another Kubernetes resource in the namespace of the Ingress object. If resource is specified, a service.Name and service.Port must not be specified.',
  required: ['kind', 'name'],
  properties: {
    apiGroup: { type: 'string', description: 'APIGroup is the group for the resource being referenced. If APIGroup is not specified, the specified Kind must be in the core API group.' },
    kind: { type: 'string', description: 'Kind is the type of resource being referenced' },
    name: { type: 'string', description: 'Name is the name of resource being referenced' },
  },
};

const ingressBackendSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.networking.v1.IngressBackend',
  description: 'IngressBackend describes all endpoints for a given service and port.',
  properties: {
    service: {
      type: 'object',
      typeName: 'io.k8s.api.networking.v1.IngressServiceBackend',
      description: 'service references a service as a backend. This is a mutually exclusive setting with "Resource".',
      required: ['name'],
      properties: {
        name: { type: 'string', description: 'name is the referenced service. The service must exist in the same namespace as the Ingress object.' },
        port: {
          type: 'object',
          typeName: 'io.k8s.api.networking.v1.ServiceBackendPort',
          description: 'port of the referenced service. A port name or port number is required for a IngressServiceBackend.',
          properties: {
            name: { type: 'string', description: 'name is the name of the port on the Service. This is a mutually exclusive setting with "Number".' },
            number: { type: 'integer', description: 'number is the numerical port number (e.g. 80) on the Service. This is a mutually exclusive setting with "Name".' },
          },
        },
      },
    },
    resource: typedLocalObjectReferenceSchema,
  },
};

const ingressSchema: FieldSchema = {
  type: 'object',
  description: 'Ingress is a collection of rules that allow inbound connections to reach the endpoints defined by a backend. (kplane stores Ingresses but runs no ingress controller.)',
  properties: {
    ...typeAndObjectMeta,
    spec: {
      type: 'object',
      typeName: 'io.k8s.api.networking.v1.IngressSpec',
      description: 'spec is the desired state of the Ingress.',
      properties: {
        ingressClassName: { type: 'string', description: 'ingressClassName is the name of an IngressClass cluster resource. Ingress controller implementations use this field to know whether they should be serving this Ingress resource.' },
        defaultBackend: { ...ingressBackendSchema, description: "defaultBackend is the backend that should handle requests that don't match any rule." },
        tls: {
          type: 'array',
          description: 'tls represents the TLS configuration.',
          items: {
            type: 'object',
            typeName: 'io.k8s.api.networking.v1.IngressTLS',
            properties: {
              hosts: { type: 'array', items: str, description: 'hosts is a list of hosts included in the TLS certificate.' },
              secretName: { type: 'string', description: 'secretName is the name of the secret used to terminate TLS traffic on port 443.' },
            },
          },
        },
        rules: {
          type: 'array',
          description: 'rules is a list of host rules used to configure the Ingress. If unspecified, or no rule matches, all traffic is sent to the default backend.',
          items: {
            type: 'object',
            typeName: 'io.k8s.api.networking.v1.IngressRule',
            description: 'IngressRule represents the rules mapping the paths under a specified host to the related backend services.',
            properties: {
              host: { type: 'string', description: 'host is the fully qualified domain name of a network host, as defined by RFC 3986. A leading "*." wildcard is allowed.' },
              http: {
                type: 'object',
                typeName: 'io.k8s.api.networking.v1.HTTPIngressRuleValue',
                properties: {
                  paths: {
                    type: 'array',
                    description: 'paths is a collection of paths that map requests to backends.',
                    items: {
                      type: 'object',
                      typeName: 'io.k8s.api.networking.v1.HTTPIngressPath',
                      required: ['pathType', 'backend'],
                      properties: {
                        path: { type: 'string', description: "path is matched against the path of an incoming request. Paths must begin with a '/' when using PathType with value \"Exact\" or \"Prefix\"." },
                        pathType: { type: 'string', enum: PATH_TYPES, description: 'pathType determines the interpretation of the path matching: Exact, Prefix or ImplementationSpecific.' },
                        backend: { ...ingressBackendSchema, description: 'backend defines the referenced service endpoint to which the traffic will be forwarded to.' },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    status: {
      type: 'object',
      description: 'status is the current state of the Ingress (its load balancer addresses; kplane leaves it empty).',
      properties: { loadBalancer: { type: 'object', additionalProperties: { type: 'any' } } },
    },
  },
};

function hostError(host: string): string | undefined {
  if (/^[0-9.]+$/.test(host) || host.includes(':')) return 'must be a DNS name, not an IP address';
  return dns1123SubdomainError(host.startsWith('*.') ? host.slice(2) : host);
}

function backendCauses(backend: unknown, path: string): StatusCause[] {
  if (!isObject(backend)) return [causes.required(path)];
  const service = backend['service'];
  const resource = backend['resource'];
  if (isObject(service) && isObject(resource)) return [causes.invalid(path, backend, 'cannot set both resource and service backends')];
  if (!isObject(service) && !isObject(resource)) return [causes.invalid(path, backend, 'one backend must be specified')];
  if (!isObject(service)) return [];
  const out: StatusCause[] = [];
  const name = service['name'];
  if (typeof name !== 'string' || name === '') out.push(causes.required(`${path}.service.name`));
  else {
    const error = dns1123LabelError(name);
    if (error !== undefined) out.push(causes.invalid(`${path}.service.name`, name, error));
  }
  const port = isObject(service['port']) ? service['port'] : {};
  const portName = port['name'];
  const portNumber = port['number'];
  const hasName = typeof portName === 'string' && portName !== '';
  const hasNumber = portNumber !== undefined && portNumber !== null && portNumber !== 0;
  if (hasName && hasNumber) out.push(causes.invalid(`${path}.service.port`, port, 'cannot set both port name & port number'));
  else if (!hasName && !hasNumber) out.push(causes.invalid(`${path}.service.port`, port, 'port name or number is required'));
  else if (hasNumber && (typeof portNumber !== 'number' || !Number.isInteger(portNumber) || portNumber < 1 || portNumber > 65535)) {
    out.push(causes.invalid(`${path}.service.port.number`, portNumber, 'must be between 1 and 65535, inclusive'));
  }
  return out;
}

function validateIngress(object: JsonObject): StatusCause[] {
  const spec = isObject(object['spec']) ? object['spec'] : {};
  const out: StatusCause[] = [];
  const rules = objectsOf(spec['rules']);
  if (spec['defaultBackend'] === undefined && rules.length === 0) out.push(causes.invalid('spec', spec, 'either `defaultBackend` or `rules` must be specified'));
  if (spec['defaultBackend'] !== undefined) out.push(...backendCauses(spec['defaultBackend'], 'spec.defaultBackend'));
  const className = spec['ingressClassName'];
  if (typeof className === 'string') {
    const error = dns1123SubdomainError(className);
    if (error !== undefined) out.push(causes.invalid('spec.ingressClassName', className, error));
  }
  for (const [ruleIndex, rule] of rules.entries()) {
    const rulePath = `spec.rules[${ruleIndex}]`;
    const host = rule['host'];
    if (typeof host === 'string' && host !== '') {
      const error = hostError(host);
      if (error !== undefined) out.push(causes.invalid(`${rulePath}.host`, host, error));
    }
    if (rule['http'] === undefined) continue;
    const http = isObject(rule['http']) ? rule['http'] : {};
    const paths = objectsOf(http['paths']);
    if (paths.length === 0) out.push(causes.required(`${rulePath}.http.paths`));
    for (const [pathIndex, entry] of paths.entries()) {
      const at = `${rulePath}.http.paths[${pathIndex}]`;
      const pathType = entry['pathType'];
      const path = entry['path'];
      if (pathType === undefined || pathType === null || pathType === '') out.push(causes.required(`${at}.pathType`, 'pathType must be specified'));
      else if (!PATH_TYPES.some((known) => known === pathType)) out.push(causes.notSupported(`${at}.pathType`, pathType, PATH_TYPES));
      else {
        // Exact and Prefix need an absolute path; ImplementationSpecific may leave it empty.
        const absolute = typeof path === 'string' && path.startsWith('/');
        const empty = path === undefined || path === null || path === '';
        if (!absolute && !(pathType === 'ImplementationSpecific' && empty)) out.push(causes.invalid(`${at}.path`, path ?? '', 'must be an absolute path'));
      }
      out.push(...backendCauses(entry['backend'], `${at}.backend`));
    }
  }
  for (const [tlsIndex, tls] of objectsOf(spec['tls']).entries()) {
    for (const [hostIndex, host] of (Array.isArray(tls['hosts']) ? tls['hosts'] : []).entries()) {
      const error = typeof host === 'string' ? hostError(host) : 'must be a string';
      if (error !== undefined) out.push(causes.invalid(`spec.tls[${tlsIndex}].hosts[${hostIndex}]`, host, error));
    }
  }
  return out;
}

export const ingresses: ResourceDefinition = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'Ingress',
  listKind: 'IngressList',
  plural: 'ingresses',
  singular: 'ingress',
  shortNames: ['ing'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [{ name: 'status', verbs: STATUS_VERBS }],
  categories: [],
  schema: ingressSchema,
  hasStatusSubresource: true,
  validate: validateIngress,
};

function validateIngressClass(object: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const spec = isObject(object['spec']) ? object['spec'] : {};
  const out: StatusCause[] = [];
  const controller = spec['controller'];
  if (typeof controller === 'string' && controller.length > 250) out.push(causes.tooLong('spec.controller', 250));
  const parameters = spec['parameters'];
  if (isObject(parameters)) {
    if (typeof parameters['kind'] !== 'string' || parameters['kind'] === '') out.push(causes.required('spec.parameters.kind'));
    if (typeof parameters['name'] !== 'string' || parameters['name'] === '') out.push(causes.required('spec.parameters.name'));
    const scope = parameters['scope'];
    if (scope !== undefined && scope !== 'Cluster' && scope !== 'Namespace') out.push(causes.notSupported('spec.parameters.scope', scope, ['Cluster', 'Namespace']));
    if (scope === 'Namespace' && typeof parameters['namespace'] !== 'string') out.push(causes.required('spec.parameters.namespace', '`parameters.scope` is set to "Namespace"'));
  }
  const oldSpec = old !== undefined && isObject(old['spec']) ? old['spec'] : undefined;
  if (oldSpec !== undefined && oldSpec['controller'] !== controller) out.push(causes.invalid('spec.controller', controller, 'field is immutable'));
  return out;
}

export const ingressclasses: ResourceDefinition = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'IngressClass',
  listKind: 'IngressClassList',
  plural: 'ingressclasses',
  singular: 'ingressclass',
  shortNames: [],
  namespaced: false,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: {
    type: 'object',
    description: 'IngressClass represents the class of the Ingress, referenced by the Ingress Spec. The `ingressclass.kubernetes.io/is-default-class` annotation can be used to indicate that an IngressClass should be considered default.',
    properties: {
      ...typeAndObjectMeta,
      spec: {
        type: 'object',
        typeName: 'io.k8s.api.networking.v1.IngressClassSpec',
        description: 'spec is the desired state of the IngressClass.',
        properties: {
          controller: { type: 'string', description: 'controller refers to the name of the controller that should handle this class (a domain-prefixed path such as "acme.io/ingress-controller"). This field is immutable.' },
          parameters: {
            type: 'object',
            description: 'parameters is a link to a custom resource containing additional configuration for the controller.',
            properties: { apiGroup: str, kind: str, name: str, namespace: str, scope: str },
          },
        },
      },
    },
  },
  hasStatusSubresource: false,
  validate: validateIngressClass,
};

export const networkingResources: readonly ResourceDefinition[] = [ingresses, ingressclasses];
