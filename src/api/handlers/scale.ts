// The scale subresource: a resource's replicas seen as an autoscaling/v1 Scale, and a Scale written
// back as spec.replicas (a generation bump when it changes).

import { isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { metadataOf } from '../storage/object-store.js';
import { causes, errors } from '../status.js';


export function formatSelector(selector: unknown): string {
  if (!isObject(selector)) return '';
  const parts: string[] = [];
  const matchLabels = selector['matchLabels'];
  if (isObject(matchLabels)) for (const [key, value] of Object.entries(matchLabels)) parts.push(`${key}=${String(value)}`);
  const expressions = selector['matchExpressions'];
  if (Array.isArray(expressions)) {
    for (const expression of expressions) {
      if (!isObject(expression)) continue;
      const values = Array.isArray(expression['values']) ? expression['values'].map(String).join(',') : '';
      const key = String(expression['key']);
      switch (expression['operator']) {
        case 'In':
          parts.push(`${key} in (${values})`);
          break;
        case 'NotIn':
          parts.push(`${key} notin (${values})`);
          break;
        case 'Exists':
          parts.push(key);
          break;
        case 'DoesNotExist':
          parts.push(`!${key}`);
          break;
        default:
          break;
      }
    }
  }
  return parts.join(',');
}

export function toScale(definition: ResourceDefinition, object: JsonObject): JsonObject {
  const metadata = metadataOf(object);
  const spec = isObject(object['spec']) ? object['spec'] : {};
  const status = isObject(object['status']) ? object['status'] : {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: metadata['name'],
      ...(definition.namespaced ? { namespace: metadata['namespace'] } : {}),
      uid: metadata['uid'],
      resourceVersion: metadata['resourceVersion'],
      creationTimestamp: metadata['creationTimestamp'],
    },
    spec: { replicas: typeof spec['replicas'] === 'number' ? spec['replicas'] : 0 },
    status: { replicas: typeof status['replicas'] === 'number' ? status['replicas'] : 0, selector: formatSelector(spec['selector']) },
  };
}

export function applyScale(current: JsonObject, scale: JsonObject, name: string): JsonObject {
  const kind = scale['kind'];
  if (kind !== undefined && kind !== 'Scale') throw errors.badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (Scale)`);
  const spec = isObject(scale['spec']) ? scale['spec'] : {};
  const replicas = spec['replicas'];
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw errors.invalid('Scale', 'autoscaling', name, [causes.invalid('spec.replicas', replicas, 'must be greater than or equal to 0')]);
  }
  const next = structuredClone(current);
  const nextSpec = isObject(next['spec']) ? next['spec'] : {};
  if (nextSpec['replicas'] !== replicas) {
    nextSpec['replicas'] = replicas;
    next['spec'] = nextSpec;
    const metadata = metadataOf(next);
    metadata['generation'] = (typeof metadata['generation'] === 'number' ? metadata['generation'] : 0) + 1;
  }
  return next;
}

