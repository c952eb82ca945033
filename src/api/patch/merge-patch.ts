// JSON merge patch (RFC 7386, `application/merge-patch+json`): objects merge key by key, null
// removes a key, anything else (lists included) replaces. What `kubectl patch --type=merge` sends, and
// the only patch type custom resources take besides JSON patch.

import { ApiError } from '../status.js';
import { isObject, type JsonObject } from '../registry/types.js';

export function applyMergePatch(document: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(document) ? { ...document } : {};
  for (const [field, value] of Object.entries(patch)) {
    // JSON.parse makes "__proto__" an own key; assigning it would set the object's prototype instead.
    if (field === '__proto__') throw new ApiError(400, 'BadRequest', 'invalid field name "__proto__" in the patch');
    if (value === null) delete result[field];
    else result[field] = applyMergePatch(result[field], value);
  }
  return result;
}
