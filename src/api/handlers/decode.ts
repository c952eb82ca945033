// Request body decoding: JSON or YAML objects for create/update, protobuf objects for the kinds
// src/api/protobuf knows (kubectl's `create <generator>` bodies), the patch types for PATCH,
// anything else 415. Malformed input becomes a 400 with a clear message, never an exception past
// this module. Nesting depth is checked on the raw text before parsing (bounded work, no deep
// recursion in JSON.parse or the yaml package).

import { parse as parseYaml } from 'yaml';
import { isObject, type JsonObject } from '../registry/types.js';
import { errors } from '../status.js';
import { PROTOBUF_MEDIA_TYPE, decodeProtobufObject } from '../protobuf/decode.js';

/** Deepest nesting accepted in a body (kube-apiserver's JSON decoder limit is 10000; real objects need < 30). */
export const MAX_BODY_DEPTH = 100;

export type BodyFormat = 'json' | 'yaml';
export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

export function bodyFormat(contentType: string | undefined): BodyFormat {
  const type = mediaType(contentType);
  if (type === 'application/json' || type === '') return 'json';
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') return 'yaml';
  throw errors.unsupportedMediaType(contentType ?? '');
}

export function patchType(contentType: string | undefined): PatchType {
  switch (mediaType(contentType)) {
    case 'application/json-patch+json':
      return 'json';
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
      return 'apply';
    default:
      throw errors.unsupportedMediaType(contentType ?? '');
  }
}

/** Deepest bracket nesting in the text, ignoring brackets inside JSON strings (stops early past `max`). */
export function nestingDepth(text: string, max = MAX_BODY_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++;
      else if (char === 0x22) inString = false;
      continue;
    }
    if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (char === 0x7d || char === 0x5d) depth--;
  }
  return deepest;
}

/** Indentation-based depth bound for YAML (block nesting): leading spaces / 1 is an upper bound. */
function yamlTooDeep(text: string): boolean {
  if (nestingDepth(text) > MAX_BODY_DEPTH) return true;
  for (const line of text.split('\n')) {
    let indent = 0;
    while (indent < line.length && (line[indent] === ' ' || line[indent] === '-')) indent++;
    if (indent > MAX_BODY_DEPTH * 4) return true;
  }
  return false;
}

/** Decode a body into a JSON value (object, array…). */
export function decodeValue(body: Uint8Array | undefined, format: BodyFormat): unknown {
  if (body === undefined || body.length === 0) throw errors.badRequest('the request body is empty');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw errors.badRequest('the request body is not valid UTF-8');
  }
  if (format === 'json') {
    if (nestingDepth(text) > MAX_BODY_DEPTH) throw errors.badRequest(`the request body is nested deeper than ${MAX_BODY_DEPTH} levels`);
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw errors.badRequest(`the request body is not valid JSON: ${error instanceof Error ? error.message : 'parse error'}`);
    }
  }
  if (yamlTooDeep(text)) throw errors.badRequest(`the request body is nested deeper than ${MAX_BODY_DEPTH} levels`);
  try {
    // No custom tags, no aliases blow-up: the yaml package caps alias expansion (maxAliasCount).
    return parseYaml(text, { maxAliasCount: 100, uniqueKeys: true, logLevel: 'error' }) as unknown;
  } catch (error) {
    throw errors.badRequest(`the request body is not valid YAML: ${error instanceof Error ? error.message.split('\n')[0] : 'parse error'}`);
  }
}

export function decodeObject(body: Uint8Array | undefined, contentType: string | undefined): JsonObject {
  if (mediaType(contentType) === PROTOBUF_MEDIA_TYPE) {
    if (body === undefined || body.length === 0) throw errors.badRequest('the request body is empty');
    return decodeProtobufObject(body);
  }
  const value = decodeValue(body, bodyFormat(contentType));
  if (!isObject(value)) throw errors.badRequest('the request body must be a JSON or YAML object');
  return value;
}
