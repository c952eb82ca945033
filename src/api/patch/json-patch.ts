// JSON patch (RFC 6902, `application/json-patch+json`): a list of add / remove / replace / move /
// copy / test operations on JSON pointers. A malformed patch or one that does not apply is a 400; a
// failed `test` is a 422, as kube-apiserver answers.

import { ApiError } from '../status.js';
import { isObject, type JsonObject } from '../registry/types.js';

function badPatch(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) throw badPatch(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path === '' ? [] : path.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(root: unknown, parts: readonly string[]): { parent: unknown; last: string } {
  let node = root;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else throw badPatch(`path not found: /${parts.join('/')}`);
  }
  const last = parts[parts.length - 1];
  if (last === undefined || (!Array.isArray(node) && !isObject(node))) throw badPatch(`path not found: /${parts.join('/')}`);
  return { parent: node, last };
}

function readAt(root: unknown, parts: readonly string[]): unknown {
  let node = root;
  for (const part of parts) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else return undefined;
  }
  return node;
}

function index(list: unknown[], last: string, forAdd: boolean): number {
  if (forAdd && last === '-') return list.length;
  if (!/^(0|[1-9][0-9]*)$/.test(last)) throw badPatch(`invalid array index ${last}`);
  const at = Number(last);
  if (at > list.length || (!forAdd && at === list.length)) throw badPatch(`array index ${last} out of range`);
  return at;
}

function addAt(root: unknown, parts: string[], value: unknown): unknown {
  if (parts.length === 0) return value;
  const { parent, last } = parentOf(root, parts);
  if (Array.isArray(parent)) parent.splice(index(parent, last, true), 0, value);
  else (parent as JsonObject)[last] = value;
  return root;
}

function removeAt(root: unknown, parts: string[]): unknown {
  const { parent, last } = parentOf(root, parts);
  if (Array.isArray(parent)) parent.splice(index(parent, last, false), 1);
  else {
    if (!(last in (parent as JsonObject))) throw badPatch(`unable to remove nonexistent key: ${last}`);
    delete (parent as JsonObject)[last];
  }
  return root;
}

export function applyJsonPatch(document: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badPatch('a JSON patch must be an array of operations');
  let root = structuredClone(document);
  for (const operation of patch) {
    if (!isObject(operation)) throw badPatch('a JSON patch operation must be an object');
    const op = operation['op'];
    const path = pointer(operation['path']);
    switch (op) {
      case 'add':
        root = addAt(root, path, structuredClone(operation['value']));
        break;
      case 'remove':
        root = removeAt(root, path);
        break;
      case 'replace':
        if (readAt(root, path) === undefined) throw badPatch(`replace operation does not apply: doc is missing key: ${String(operation['path'])}`);
        root = addAt(removeAt(root, path), path, structuredClone(operation['value']));
        break;
      case 'move':
      case 'copy': {
        const from = pointer(operation['from']);
        const value = readAt(root, from);
        if (value === undefined) throw badPatch(`${op} operation does not apply: doc is missing from path: ${String(operation['from'])}`);
        if (op === 'move') root = removeAt(root, from);
        root = addAt(root, path, structuredClone(value));
        break;
      }
      case 'test':
        if (JSON.stringify(readAt(root, path)) !== JSON.stringify(operation['value']))
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${String(operation['path'])} failed`);
        break;
      default:
        throw badPatch(`unexpected JSON patch op ${JSON.stringify(op)}`);
    }
  }
  return root;
}
