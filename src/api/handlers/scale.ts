// The scale subresource: a resource's replicas seen as an autoscaling/v1 Scale, and a Scale written
// back as spec.replicas (a generation bump when it changes). A custom resource's replicas and
// selector live where its CRD's subresources.scale paths say (e.g. `.spec.size`).

import { isObject, type JsonObject, type ResourceDefinition, type ScalePaths } from '../registry/types.js';
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

function scalePathsOf(definition: ResourceDefinition): ScalePaths | undefined {
  return definition.subresources.find((subresource) => subresource.name === 'scale')?.scalePaths;
}

/** `.spec.size` → ['spec', 'size'] (CRD scale paths are dotted field names, no indexes). */
function fieldsOf(path: string): string[] {
  return path.split('.').filter((field) => field !== '');
}

function valueAt(object: JsonObject, path: string): unknown {
  let value: unknown = object;
  for (const field of fieldsOf(path)) {
    if (!isObject(value)) return undefined;
    value = value[field];
  }
  return value;
}

/** Set the value at the path, creating the objects on the way (replacing any non-object there). */
function setValueAt(object: JsonObject, path: string, value: unknown): void {
  const fields = fieldsOf(path);
  const last = fields.pop();
  if (last === undefined) return;
  let holder = object;
  for (const field of fields) {
    const next = holder[field];
    if (isObject(next)) holder = next;
    else {
      const created: JsonObject = {};
      holder[field] = created;
      holder = created;
    }
  }
  holder[last] = value;
}

const replicasOf = (value: unknown): number => (typeof value === 'number' ? value : 0);

export function toScale(definition: ResourceDefinition, object: JsonObject): JsonObject {
  const metadata = metadataOf(object);
  const spec = isObject(object['spec']) ? object['spec'] : {};
  const status = isObject(object['status']) ? object['status'] : {};
  const paths = scalePathsOf(definition);
  const selector = paths?.labelSelectorPath === undefined ? undefined : valueAt(object, paths.labelSelectorPath);
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
    spec: { replicas: replicasOf(paths === undefined ? spec['replicas'] : valueAt(object, paths.specReplicasPath)) },
    status: {
      replicas: replicasOf(paths === undefined ? status['replicas'] : valueAt(object, paths.statusReplicasPath)),
      selector: paths === undefined ? formatSelector(spec['selector']) : typeof selector === 'string' ? selector : '',
    },
  };
}

export function applyScale(definition: ResourceDefinition, current: JsonObject, scale: JsonObject, name: string): JsonObject {
  const kind = scale['kind'];
  if (kind !== undefined && kind !== 'Scale') throw errors.badRequest(`the kind in the data (${String(kind)}) does not match the expected kind (Scale)`);
  const spec = isObject(scale['spec']) ? scale['spec'] : {};
  const replicas = spec['replicas'];
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw errors.invalid('Scale', 'autoscaling', name, [causes.invalid('spec.replicas', replicas, 'must be greater than or equal to 0')]);
  }
  const specReplicasPath = scalePathsOf(definition)?.specReplicasPath ?? '.spec.replicas';
  const next = structuredClone(current);
  if (valueAt(next, specReplicasPath) !== replicas) {
    setValueAt(next, specReplicasPath, replicas);
    const metadata = metadataOf(next);
    metadata['generation'] = (typeof metadata['generation'] === 'number' ? metadata['generation'] : 0) + 1;
  }
  return next;
}

