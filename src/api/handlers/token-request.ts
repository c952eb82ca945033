// serviceaccounts/token (authentication.k8s.io/v1 TokenRequest, `kubectl create token`): a signed
// service account token (auth/service-account-tokens.ts) for the audiences asked for (default: this
// server's), valid for spec.expirationSeconds (default 3600, at least 600), optionally bound to a Pod
// or Secret of the namespace so that it stops working when that object goes. Answered 201 with the
// TokenRequest and status.token / status.expirationTimestamp; nothing is stored.

import { isObject, type JsonObject } from '../registry/types.js';
import { pods, secrets, serviceaccounts } from '../registry/core.js';
import { metadataOf } from '../storage/object-store.js';
import { causes, errors, type StatusCause } from '../status.js';
import type { BoundObjectKind, TokenGrant } from '../auth/service-account-tokens.js';
import { decodeObject } from './decode.js';
import { type ResourceTarget, checkKind, json } from './common.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';

export const DEFAULT_TOKEN_SECONDS = 3600;
/** Kubernetes refuses shorter tokens ("may not specify a duration less than 10 minutes"). */
export const MIN_TOKEN_SECONDS = 600;
export const MAX_TOKEN_SECONDS = 2 ** 32;
const BOUND_KINDS: readonly BoundObjectKind[] = ['Pod', 'Secret'];

interface BoundReference {
  readonly kind: BoundObjectKind;
  readonly name: string;
  readonly uid?: string;
}

interface TokenRequestSpec {
  readonly audiences: readonly string[];
  readonly expirationSeconds: number;
  readonly boundObjectRef?: BoundReference;
}

function parseSpec(spec: JsonObject, defaultAudiences: readonly string[], name: string): TokenRequestSpec {
  const problems: StatusCause[] = [];
  const audiencesValue = spec['audiences'];
  let audiences: string[] = [];
  if (audiencesValue !== undefined && audiencesValue !== null) {
    if (!Array.isArray(audiencesValue) || !audiencesValue.every((entry) => typeof entry === 'string' && entry !== '')) problems.push(causes.invalid('spec.audiences', audiencesValue, 'must be a list of non-empty strings'));
    else audiences = audiencesValue as string[];
  }
  const seconds = spec['expirationSeconds'] ?? DEFAULT_TOKEN_SECONDS;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds)) problems.push(causes.invalid('spec.expirationSeconds', seconds, 'must be an integer'));
  else if (seconds < MIN_TOKEN_SECONDS) problems.push(causes.invalid('spec.expirationSeconds', seconds, 'may not specify a duration less than 10 minutes'));
  else if (seconds > MAX_TOKEN_SECONDS) problems.push(causes.invalid('spec.expirationSeconds', seconds, 'may not specify a duration larger than 2^32 seconds'));
  let boundObjectRef: BoundReference | undefined;
  const reference = spec['boundObjectRef'];
  if (reference !== undefined && reference !== null) {
    if (!isObject(reference)) problems.push(causes.invalid('spec.boundObjectRef', reference, 'must be an object'));
    else {
      const kind = reference['kind'];
      const name = reference['name'];
      const uid = reference['uid'];
      const apiVersion = reference['apiVersion'];
      if (!BOUND_KINDS.includes(kind as BoundObjectKind)) problems.push(causes.notSupported('spec.boundObjectRef.kind', kind, BOUND_KINDS));
      if (apiVersion !== undefined && apiVersion !== '' && apiVersion !== 'v1') problems.push(causes.notSupported('spec.boundObjectRef.apiVersion', apiVersion, ['v1']));
      if (typeof name !== 'string' || name === '') problems.push(causes.required('spec.boundObjectRef.name'));
      if (uid !== undefined && typeof uid !== 'string') problems.push(causes.invalid('spec.boundObjectRef.uid', uid, 'must be a string'));
      if (problems.length === 0) boundObjectRef = { kind: kind as BoundObjectKind, name: name as string, ...(typeof uid === 'string' && uid !== '' ? { uid } : {}) };
    }
  }
  if (problems.length > 0) throw errors.invalid('TokenRequest', 'authentication.k8s.io', name, problems);
  return { audiences: audiences.length > 0 ? audiences : defaultAudiences, expirationSeconds: seconds as number, ...(boundObjectRef === undefined ? {} : { boundObjectRef }) };
}

export async function requestToken(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  if (target.verb !== 'create') throw errors.methodNotAllowed();
  const tokens = context.serviceAccountTokens;
  if (tokens === undefined) throw errors.internal('this API server issues no service account tokens');
  const namespace = target.namespace ?? '';
  const name = target.name ?? '';
  const body = decodeObject(request.body, request.headers['content-type']);
  checkKind(target.definition, body, 'TokenRequest', 'authentication.k8s.io/v1');
  const spec = parseSpec(isObject(body['spec']) ? body['spec'] : {}, tokens.audiences, name);
  const serviceAccount = await context.objects.get(serviceaccounts, namespace, name);
  const serviceAccountUid = String(metadataOf(serviceAccount)['uid'] ?? '');
  let boundObject: TokenGrant['boundObject'];
  if (spec.boundObjectRef !== undefined) {
    const reference = spec.boundObjectRef;
    const definition = reference.kind === 'Pod' ? pods : secrets;
    const live = await context.objects.get(definition, namespace, reference.name);
    const uid = String(metadataOf(live)['uid'] ?? '');
    if (reference.uid !== undefined && reference.uid !== uid) {
      throw errors.conflict({ resource: definition.plural, group: '' }, reference.name, `the UID in the bound object reference (${reference.uid}) does not match the UID in record (${uid}). The object might have been deleted and then recreated`);
    }
    boundObject = { kind: reference.kind, name: reference.name, uid };
  }
  const issued = tokens.issue({
    namespace,
    serviceAccount: { name, uid: serviceAccountUid },
    audiences: spec.audiences,
    expirationSeconds: spec.expirationSeconds,
    ...(boundObject === undefined ? {} : { boundObject }),
  });
  return json(201, {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    metadata: { name, namespace, creationTimestamp: null },
    spec: {
      audiences: [...spec.audiences],
      expirationSeconds: spec.expirationSeconds,
      boundObjectRef: boundObject === undefined ? null : { kind: boundObject.kind, apiVersion: 'v1', name: boundObject.name, uid: boundObject.uid },
    },
    status: { token: issued.token, expirationTimestamp: issued.expirationTimestamp },
  });
}
