// Protobuf request bodies (`application/vnd.kubernetes.protobuf`) decoded into the JSON objects the
// handlers work on. A body is the 4-byte magic `k8s\0` and a runtime.Unknown {1 typeMeta {1 apiVersion,
// 2 kind}, 2 raw, 3 contentEncoding, 4 contentType}; raw is the object's own message, read with the
// field tables of schemas.ts. Malformed bytes are a 400; a kind, field or encoding kplane does not
// know is a 415 naming it (kubectl does not retry 415 as JSON, so the message must say what to do).

import { ApiError, errors } from '../status.js';
import type { JsonObject } from '../registry/types.js';
import { schemaFor, type FieldSpec, type MessageSchema, type ScalarType } from './schemas.js';
import { WireError, WireReader, safeNumber, signedOf, type WireField } from './wire.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);
/** Deeper than any schema in schemas.ts nests; a guard in case one ever recurses. */
const MAX_MESSAGE_DEPTH = 32;

const INT32_MIN = -(2n ** 31n);
const INT32_MAX = 2n ** 31n - 1n;

function unsupported(message: string): ApiError {
  return new ApiError(415, 'UnsupportedMediaType', `${message}; send this object as application/json instead`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function text(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new WireError(`${what} is not valid UTF-8`);
  }
}

export interface UnknownEnvelope {
  readonly apiVersion: string;
  readonly kind: string;
  readonly raw: Uint8Array;
  readonly contentEncoding: string;
  readonly contentType: string;
}

/** Read the `k8s\0` + runtime.Unknown envelope. Throws WireError on malformed input. */
export function readEnvelope(body: Uint8Array): UnknownEnvelope {
  if (body.length < MAGIC.length || MAGIC.some((byte, index) => body[index] !== byte)) throw new WireError('the body does not start with the Kubernetes protobuf magic "k8s\\0"');
  let apiVersion = '';
  let kind = '';
  let raw: Uint8Array = new Uint8Array(0);
  let contentEncoding = '';
  let contentType = '';
  for (const field of WireReader.fields(body.subarray(MAGIC.length))) {
    if (field.wireType !== 2) throw new WireError(`runtime.Unknown field ${field.number} has wire type ${field.wireType}, expected length-delimited`);
    switch (field.number) {
      case 1:
        for (const meta of WireReader.fields(field.value)) {
          if (meta.wireType !== 2) throw new WireError(`TypeMeta field ${meta.number} has wire type ${meta.wireType}`);
          if (meta.number === 1) apiVersion = text(meta.value, 'TypeMeta.apiVersion');
          else if (meta.number === 2) kind = text(meta.value, 'TypeMeta.kind');
        }
        break;
      case 2:
        raw = field.value;
        break;
      case 3:
        contentEncoding = text(field.value, 'runtime.Unknown.contentEncoding');
        break;
      case 4:
        contentType = text(field.value, 'runtime.Unknown.contentType');
        break;
      default:
        break;
    }
  }
  return { apiVersion, kind, raw, contentEncoding, contentType };
}

function isZero(value: unknown): boolean {
  if (value === undefined || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

/** An unknown field that carries nothing (encoders emit empty fields) can be skipped safely. */
function isEmptyField(field: WireField): boolean {
  if (field.wireType === 0) return field.value === 0n;
  if (field.wireType === 2) return field.value.length === 0;
  return field.value.every((byte) => byte === 0);
}

function scalarOf(type: ScalarType, field: WireField, where: string): unknown {
  switch (type) {
    case 'string':
      if (field.wireType !== 2) break;
      return text(field.value, where);
    case 'bytes':
      if (field.wireType !== 2) break;
      return Buffer.from(field.value).toString('base64');
    case 'bool':
      if (field.wireType !== 0) break;
      return field.value !== 0n;
    case 'int32': {
      if (field.wireType !== 0) break;
      const value = signedOf(field.value);
      if (value < INT32_MIN || value > INT32_MAX) throw new WireError(`${where}: ${value} is out of range for int32`);
      return Number(value);
    }
    case 'int64':
      if (field.wireType !== 0) break;
      return safeNumber(signedOf(field.value), where);
    case 'double':
      if (field.wireType !== 1) break;
      return new DataView(field.value.buffer, field.value.byteOffset, 8).getFloat64(0, true);
  }
  throw new WireError(`${where} has wire type ${field.wireType}, which does not fit a ${type}`);
}

/** A packed repeated scalar (length-delimited run of varints or fixed values). */
function unpack(type: ScalarType, bytes: Uint8Array, where: string): unknown[] {
  const reader = new WireReader(bytes);
  const values: unknown[] = [];
  while (!reader.done) {
    if (type === 'double') values.push(scalarOf(type, { number: 1, wireType: 1, value: reader.readBytes(8) }, where));
    else values.push(scalarOf(type, { number: 1, wireType: 0, value: reader.readVarint() }, where));
  }
  return values;
}

function isScalar(type: FieldSpec['type']): type is ScalarType {
  return typeof type === 'string';
}

function valueOf(type: ScalarType | MessageSchema, field: WireField, where: string, depth: number): unknown {
  if (isScalar(type)) return scalarOf(type, field, where);
  if (field.wireType !== 2) throw new WireError(`${where} has wire type ${field.wireType}, expected an embedded ${type.name}`);
  return decodeMessage(type, field.value, depth + 1);
}

function mapEntry(valueType: ScalarType | MessageSchema, bytes: Uint8Array, where: string, depth: number): [string, unknown] {
  let key = '';
  let value: unknown;
  for (const entry of WireReader.fields(bytes)) {
    if (entry.number === 1) key = String(scalarOf('string', entry, `${where} key`));
    else if (entry.number === 2) value = valueOf(valueType, entry, `${where}[${key}]`, depth);
  }
  if (value === undefined) value = isScalar(valueType) ? (valueType === 'bool' ? false : valueType === 'int32' || valueType === 'int64' || valueType === 'double' ? 0 : '') : decodeMessage(valueType, new Uint8Array(0), depth + 1);
  return [key, value];
}

/** Decode one message into its JSON form (zero values of non-pointer fields dropped, like omitempty). */
export function decodeMessage(schema: MessageSchema, bytes: Uint8Array, depth = 0): unknown {
  if (depth > MAX_MESSAGE_DEPTH) throw new WireError(`messages nested deeper than ${MAX_MESSAGE_DEPTH}`);
  const decoded: JsonObject = {};
  const present = new Set<FieldSpec>();
  for (const field of WireReader.fields(bytes)) {
    const spec = schema.fields.get(field.number);
    if (spec === undefined) {
      if (isEmptyField(field)) continue;
      throw unsupported(`field ${field.number} of ${schema.name} is not supported by kplane's protobuf decoder`);
    }
    if (spec.ignored === true) continue;
    const where = `${schema.name}.${spec.name}`;
    present.add(spec);
    const type = spec.type;
    if (typeof type === 'object' && 'map' in type) {
      if (field.wireType !== 2) throw new WireError(`${where} has wire type ${field.wireType}, expected a map entry`);
      const map = (decoded[spec.name] ?? {}) as JsonObject;
      const [key, value] = mapEntry(type.map, field.value, where, depth);
      // defineProperty: a key such as "__proto__" becomes an own property, as JSON.parse makes it.
      if (value !== undefined) Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
      decoded[spec.name] = map;
    } else if (spec.repeated === true) {
      const list = (decoded[spec.name] ?? []) as unknown[];
      if (isScalar(type) && type !== 'string' && type !== 'bytes' && field.wireType === 2) list.push(...unpack(type, field.value, where));
      else {
        const value = valueOf(type, field, where, depth);
        if (value !== undefined) list.push(value);
      }
      decoded[spec.name] = list;
    } else decoded[spec.name] = valueOf(type, field, where, depth);
  }
  const out: JsonObject = {};
  for (const spec of schema.fields.values()) {
    if (!present.has(spec)) continue;
    const value = decoded[spec.name];
    if (value === undefined) continue;
    if (spec.inline === true) {
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) Object.assign(out, value);
      continue;
    }
    if (spec.pointer !== true && isZero(value)) continue;
    out[spec.name] = value;
  }
  return schema.toJson === undefined ? out : schema.toJson(out);
}

/**
 * Decode a protobuf request body into a JSON object with apiVersion and kind set. Throws ApiError:
 * 400 for bytes that are not a valid envelope/message, 415 for kinds, fields or encodings not supported.
 */
export function decodeProtobufObject(body: Uint8Array): JsonObject {
  try {
    const envelope = readEnvelope(body);
    if (envelope.contentEncoding !== '') throw unsupported(`protobuf content encoding ${JSON.stringify(envelope.contentEncoding)} is not supported`);
    if (envelope.kind === '') throw errors.badRequest('the protobuf body names no kind (runtime.Unknown typeMeta.kind is empty)');
    const head: JsonObject = { apiVersion: envelope.apiVersion, kind: envelope.kind };
    const innerType = envelope.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (innerType !== '' && innerType !== PROTOBUF_MEDIA_TYPE) throw unsupported(`embedded content type ${JSON.stringify(envelope.contentType)} is not supported`);
    const schema = schemaFor(envelope.apiVersion, envelope.kind);
    if (schema === undefined) throw unsupported(`protobuf bodies of ${envelope.apiVersion === '' ? '' : `${envelope.apiVersion} `}${envelope.kind} are not supported`);
    const decoded = decodeMessage(schema, envelope.raw);
    return { ...head, ...(decoded as JsonObject) };
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof WireError) throw errors.badRequest(`the protobuf body is malformed: ${error.message}`);
    throw error;
  }
}
