// Request info parsing (paths → resource attributes and verbs), body decoding, and Status wording.
import test from 'ava';
import * as fc from 'fast-check';
import { parseRequestInfo } from '../../src/api/request-info.js';
import { decodeObject, decodeValue, nestingDepth, patchType } from '../../src/api/handlers/decode.js';
import { ApiError, causes, errors } from '../../src/api/status.js';
import { negotiateOutput } from '../../src/api/server.js';
import { negotiateAggregated } from '../../src/api/handlers/discovery.js';

const q = (text = ''): URLSearchParams => new URLSearchParams(text);

test('resource paths parse into group, version, namespace, resource, name, subresource and verb', (t) => {
  t.like(parseRequestInfo('GET', '/api/v1/namespaces/default/pods', q()), { kind: 'resource', verb: 'list', apiGroup: '', apiVersion: 'v1', namespace: 'default', resource: 'pods' });
  t.like(parseRequestInfo('GET', '/api/v1/namespaces/default/pods', q('watch=1')), { verb: 'watch' });
  t.like(parseRequestInfo('GET', '/api/v1/namespaces/default/pods', q('watch=true')), { verb: 'watch' });
  t.like(parseRequestInfo('GET', '/api/v1/namespaces/default/pods/web', q()), { verb: 'get', name: 'web' });
  t.like(parseRequestInfo('PUT', '/api/v1/namespaces/default/pods/web/status', q()), { verb: 'update', name: 'web', subresource: 'status' });
  t.like(parseRequestInfo('PATCH', '/apis/apps/v1/namespaces/ns/deployments/d/scale', q()), { verb: 'patch', apiGroup: 'apps', resource: 'deployments', subresource: 'scale' });
  t.like(parseRequestInfo('DELETE', '/api/v1/namespaces/default/pods', q()), { verb: 'deletecollection' });
  t.like(parseRequestInfo('DELETE', '/api/v1/namespaces/default/pods/p', q()), { verb: 'delete' });
  t.like(parseRequestInfo('POST', '/api/v1/namespaces', q()), { verb: 'create', resource: 'namespaces' });
  const namespace = parseRequestInfo('GET', '/api/v1/namespaces/team', q());
  t.like(namespace, { verb: 'get', resource: 'namespaces', name: 'team', namespace: 'team' });
  t.like(parseRequestInfo('PUT', '/api/v1/namespaces/team/finalize', q()), { resource: 'namespaces', name: 'team', subresource: 'finalize' });
  t.like(parseRequestInfo('GET', '/api/v1/nodes/n1', q()), { resource: 'nodes', name: 'n1' });
  t.like(parseRequestInfo('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles', q()), { apiGroup: 'rbac.authorization.k8s.io', resource: 'clusterroles' });
  t.like(parseRequestInfo('GET', '/api/v1/pods', q()), { verb: 'list', resource: 'pods' });
  t.false('namespace' in parseRequestInfo('GET', '/api/v1/pods', q()));
});

test('non-resource paths: discovery and health', (t) => {
  for (const path of ['/api', '/api/v1', '/apis', '/apis/apps', '/apis/apps/v1', '/healthz', '/version', '/openapi/v3'])
    t.like(parseRequestInfo('GET', path, q()), { kind: 'nonResource', verb: 'get', path });
});

test('parseRequestInfo never throws on arbitrary paths and queries', (t) => {
  fc.assert(
    fc.property(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'), fc.array(fc.string(), { maxLength: 8 }), fc.string(), (method, parts, query) => {
      parseRequestInfo(method, '/' + parts.join('/'), new URLSearchParams(query));
    }),
  );
  t.pass();
});

test('body decoding: JSON, YAML, patch types, 415 and 400 for everything else', (t) => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  t.deepEqual(decodeObject(bytes('{"a":1}'), 'application/json; charset=utf-8'), { a: 1 });
  t.deepEqual(decodeObject(bytes('a: 1\nb: [x]\n'), 'application/yaml'), { a: 1, b: ['x'] });
  t.is(patchType('application/merge-patch+json'), 'merge');
  t.is(patchType('application/json-patch+json'), 'json');
  t.is(patchType('application/strategic-merge-patch+json'), 'strategic');
  const unsupported = t.throws(() => decodeObject(bytes('x'), 'application/cbor'));
  t.is((unsupported as ApiError).httpStatus, 415);
  // Protobuf bodies are decoded (issue 7); 'x' is not a protobuf message.
  const notProtobuf = t.throws(() => decodeObject(bytes('x'), 'application/vnd.kubernetes.protobuf'));
  t.is((notProtobuf as ApiError).httpStatus, 400);
  for (const [body, type] of [['{', 'application/json'], ['[1]', 'application/json'], ['', 'application/json'], [': : :\n  - [', 'application/yaml']] as const) {
    const error = t.throws(() => decodeObject(bytes(body), type));
    t.is((error as ApiError).httpStatus, 400, `${type} ${JSON.stringify(body)}`);
  }
  t.is(nestingDepth('{"a":"{{{{[[[[","b":[{}]}'), 3);
  const deep = t.throws(() => decodeValue(bytes('['.repeat(200) + ']'.repeat(200)), 'json'));
  t.is((deep as ApiError).httpStatus, 400);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('json' as const, 'yaml' as const), (body, format) => {
      try {
        decodeValue(body, format);
      } catch (error) {
        if (!(error instanceof ApiError) || error.httpStatus !== 400) throw error;
      }
    }),
  );
});

test('Status objects carry Kubernetes reasons, codes and message wording', (t) => {
  const pods = { resource: 'pods', group: '' };
  t.deepEqual(errors.notFound(pods, 'web').toStatus(), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'pods "web" not found',
    reason: 'NotFound',
    details: { name: 'web', group: '', kind: 'pods' },
    code: 404,
  });
  t.is(errors.alreadyExists({ resource: 'namespaces', group: '' }, 'x').message, 'namespaces "x" already exists');
  t.is(
    errors.conflict(pods, 'web').message,
    'Operation cannot be fulfilled on pods "web": the object has been modified; please apply your changes to the latest version and try again',
  );
  const invalid = errors.invalid('Deployment', 'apps', 'bad', [causes.invalid('spec.replicas', -1, 'must be greater than or equal to 0')]);
  t.is(invalid.message, 'Deployment.apps "bad" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0');
  t.is(invalid.details?.kind, 'Deployment');
  t.is(invalid.httpStatus, 422);
  const two = errors.invalid('Pod', '', 'p', [causes.required('a'), causes.required('b')]);
  t.is(two.message, 'Pod "p" is invalid: [a: Required value, b: Required value]');
  t.is(errors.expired('too old resource version: 1 (5)').toStatus().code, 410);
  t.is(errors.tooManyRequests().toStatus().details?.retryAfterSeconds, 1);
  t.true(errors.tooManyRequests().retryable);
  t.false(errors.notFound(pods, 'x').retryable);
});

test('content negotiation: JSON by default, YAML when only YAML is accepted, aggregated discovery by version', (t) => {
  t.is(negotiateOutput(undefined), 'json');
  t.is(negotiateOutput('application/json;as=Table;v=v1;g=meta.k8s.io,application/json'), 'json');
  t.is(negotiateOutput('*/*'), 'json');
  t.is(negotiateOutput('application/yaml'), 'yaml');
  t.is(negotiateOutput('application/vnd.kubernetes.protobuf'), undefined);
  t.is(negotiateAggregated('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'), 'v2');
  t.is(negotiateAggregated('application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json'), 'v2beta1');
  t.is(negotiateAggregated('application/json'), undefined);
});
