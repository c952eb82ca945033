// Object validation common to every resource: metadata (name rules per resource, labels,
// annotations, namespace), the registry schema, then the resource's own checks. Everything is
// collected into one 422 Invalid with causes, as kube-apiserver does.

import { checkSchema, dns1123LabelError, dns1123SubdomainError, labelKeyError, labelValueError, pathSegmentNameError } from '../registry/schema.js';
import type { JsonObject, ResourceDefinition } from '../registry/types.js';
import { isObject } from '../registry/types.js';
import { causes, errors, type StatusCause } from '../status.js';

/** Total size of all annotations (Kubernetes' TotalAnnotationSizeLimitB). */
export const MAX_ANNOTATIONS_BYTES = 256 * 1024;

function nameError(definition: ResourceDefinition, name: string): string | undefined {
  if (definition.group === 'rbac.authorization.k8s.io') return pathSegmentNameError(name);
  if (definition.plural === 'namespaces' && definition.group === '') return dns1123LabelError(name);
  return dns1123SubdomainError(name);
}

export function validateMetadata(definition: ResourceDefinition, object: JsonObject): StatusCause[] {
  const out: StatusCause[] = [];
  const metadata = object['metadata'];
  if (!isObject(metadata)) return [causes.required('metadata')];
  const name = metadata['name'];
  if (typeof name !== 'string' || name === '') out.push(causes.required('metadata.name', 'name or generateName is required'));
  else {
    const error = nameError(definition, name);
    if (error !== undefined) out.push(causes.invalid('metadata.name', name, error));
  }
  const labels = metadata['labels'];
  if (labels !== undefined && labels !== null) {
    if (!isObject(labels)) out.push(causes.typeInvalid('metadata.labels', labels, 'must be a map of strings'));
    else
      for (const [key, value] of Object.entries(labels)) {
        const keyError = labelKeyError(key);
        if (keyError !== undefined) out.push(causes.invalid('metadata.labels', key, keyError));
        if (typeof value !== 'string') out.push(causes.typeInvalid(`metadata.labels.${key}`, value, 'must be a string'));
        else {
          const valueError = labelValueError(value);
          if (valueError !== undefined) out.push(causes.invalid('metadata.labels', value, valueError));
        }
      }
  }
  const annotations = metadata['annotations'];
  if (annotations !== undefined && annotations !== null) {
    if (!isObject(annotations)) out.push(causes.typeInvalid('metadata.annotations', annotations, 'must be a map of strings'));
    else {
      let size = 0;
      for (const [key, value] of Object.entries(annotations)) {
        const keyError = labelKeyError(key);
        if (keyError !== undefined) out.push(causes.invalid('metadata.annotations', key, keyError));
        if (typeof value !== 'string') out.push(causes.typeInvalid(`metadata.annotations.${key}`, value, 'must be a string'));
        else size += key.length + value.length;
      }
      if (size > MAX_ANNOTATIONS_BYTES) out.push(causes.tooLong('metadata.annotations', MAX_ANNOTATIONS_BYTES));
    }
  }
  const finalizers = metadata['finalizers'];
  if (finalizers !== undefined && finalizers !== null && (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== 'string')))
    out.push(causes.typeInvalid('metadata.finalizers', finalizers, 'must be a list of strings'));
  return out;
}

/** Throw 422 Invalid when the object breaks metadata, schema or resource rules. */
export function validateObject(definition: ResourceDefinition, object: JsonObject, old: JsonObject | undefined, kind = definition.kind): void {
  const found = validateMetadata(definition, object);
  checkSchema(object, definition.schema, '', found);
  if (definition.validate !== undefined && found.length === 0) found.push(...definition.validate(object, old));
  if (found.length > 0) {
    const metadata = object['metadata'];
    const name = isObject(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : '';
    throw errors.invalid(kind, definition.group, name, found);
  }
}
