// The store's commands (what a Raft entry's data carries), their results, and their encoding.
// Keys are strings (compared by UTF-16 code units; for the ASCII keys the API server uses this is
// byte order). Values are bytes (Uint8Array). Every command carries `nowMs`, the proposing leader's
// clock at proposal time: the state machine's only notion of time. Write commands may carry a client
// session { clientId, sequence } for exactly-once retries (see sessions.ts).
// Encoding is CBOR (cbor-x, no records, so it is self-describing and stable); decodeCommand never
// throws: garbage gives a BadCommandError value. The size limits live here too.

import { Encoder } from 'cbor-x';
import { BadCommandError, RequestTooLargeError, type ApplyErrorCode } from './errors.js';

/** Largest encoded command accepted at propose time (etcd's --max-request-bytes default). */
export const MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
/** Largest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 3 * 1024;
/** Largest value, in bytes (a value alone can never exceed the request limit anyway). */
export const MAX_VALUE_BYTES = MAX_REQUEST_BYTES - 4 * 1024;
/** Default database size quota (live keys + values); configurable per state machine. */
export const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;
/** Deepest nesting of txn inside txn. */
export const MAX_TXN_DEPTH = 4;
/** Most operations in one txn branch (etcd's --max-txn-ops default is 128; we allow more). */
export const MAX_TXN_OPS = 1024;

export interface KeyValue {
  readonly key: string;
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  /** 1 at creation, +1 per put; a delete resets it (the next put starts again at 1). */
  readonly version: number;
  /** 0 means no lease. */
  readonly lease: number;
}

export interface Header {
  /** The store's revision after this request (for reads: the revision read at). */
  readonly revision: number;
}

export type SortTarget = 'key' | 'version' | 'createRevision' | 'modRevision' | 'value';
export type SortOrder = 'none' | 'ascend' | 'descend';

/**
 * `rangeEnd` undefined: the single key. `rangeEnd` '\0': every key >= key. Otherwise [key, rangeEnd).
 * Use prefixEnd(prefix) for a prefix.
 */
export interface RangeRequest {
  readonly key: string;
  readonly rangeEnd?: string;
  /** 0 or absent: no limit. */
  readonly limit?: number;
  /** 0 or absent: the current revision. Ignored inside a txn (txns read the current state). */
  readonly revision?: number;
  readonly countOnly?: boolean;
  readonly keysOnly?: boolean;
  readonly sortOrder?: SortOrder;
  readonly sortTarget?: SortTarget;
}

export interface PutRequest {
  readonly key: string;
  readonly value: Uint8Array;
  readonly lease?: number;
  readonly prevKv?: boolean;
  /** Keep the current value (the key must exist). */
  readonly ignoreValue?: boolean;
  /** Keep the current lease (the key must exist). */
  readonly ignoreLease?: boolean;
}

export interface DeleteRangeRequest {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly prevKv?: boolean;
}

export type CompareTarget = 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';
export type CompareResult = 'equal' | 'notEqual' | 'less' | 'greater';

/**
 * Compares the key's current state. A missing key has version, createRevision, modRevision and
 * lease 0 and an empty value, so `version equal 0` tests absence. With a rangeEnd, every key in the
 * range must satisfy the compare (etcd semantics).
 */
export interface Compare {
  readonly key: string;
  readonly rangeEnd?: string;
  readonly target: CompareTarget;
  readonly result: CompareResult;
  /** A number for revision/version/lease targets, bytes for value. */
  readonly value: number | Uint8Array;
}

export type RequestOp =
  | { readonly range: RangeRequest }
  | { readonly put: PutRequest }
  | { readonly deleteRange: DeleteRangeRequest }
  | { readonly txn: TxnRequest };

export interface TxnRequest {
  readonly compare: readonly Compare[];
  readonly success: readonly RequestOp[];
  readonly failure: readonly RequestOp[];
}

export interface ClientSession {
  readonly clientId: string;
  /** Strictly increasing per client, starting at 1. */
  readonly sequence: number;
}

export type CommandBody =
  | { readonly type: 'put'; readonly put: PutRequest }
  | { readonly type: 'deleteRange'; readonly deleteRange: DeleteRangeRequest }
  | { readonly type: 'txn'; readonly txn: TxnRequest }
  | { readonly type: 'compact'; readonly revision: number }
  | { readonly type: 'leaseGrant'; readonly id: number; readonly ttlSeconds: number }
  | { readonly type: 'leaseRevoke'; readonly id: number }
  | { readonly type: 'leaseKeepAlive'; readonly id: number }
  /** The leader records every lease's remaining TTL (at nowMs) so that a new leader can resume it. */
  | { readonly type: 'leaseCheckpoint' }
  /** A new leader's first lease command: deadlines := nowMs + checkpointed remaining + graceMs. */
  | { readonly type: 'leaseRebase'; readonly graceMs: number };

export interface Command {
  /** The proposing leader's clock (ms). The state machine never reads a clock. */
  readonly nowMs: number;
  readonly session?: ClientSession;
  readonly body: CommandBody;
}

export interface RangeResult {
  readonly header: Header;
  readonly kvs: readonly KeyValue[];
  /** More keys matched than `limit` allowed. */
  readonly more: boolean;
  /** How many keys matched (before the limit). */
  readonly count: number;
}
export interface PutResult {
  readonly header: Header;
  readonly prevKv?: KeyValue;
}
export interface DeleteRangeResult {
  readonly header: Header;
  readonly deleted: number;
  readonly prevKvs?: readonly KeyValue[];
}
export type ResponseOp =
  | { readonly range: RangeResult }
  | { readonly put: PutResult }
  | { readonly deleteRange: DeleteRangeResult }
  | { readonly txn: TxnResult };
export interface TxnResult {
  readonly header: Header;
  readonly succeeded: boolean;
  readonly responses: readonly ResponseOp[];
}

export interface ErrorResult {
  readonly type: 'error';
  readonly header: Header;
  readonly code: ApplyErrorCode;
  readonly message: string;
}

export type ApplyResult =
  | { readonly type: 'put'; readonly put: PutResult }
  | { readonly type: 'deleteRange'; readonly deleteRange: DeleteRangeResult }
  | { readonly type: 'txn'; readonly txn: TxnResult }
  | { readonly type: 'compact'; readonly header: Header; readonly compactRevision: number }
  | { readonly type: 'leaseGrant'; readonly header: Header; readonly id: number; readonly ttlSeconds: number }
  | { readonly type: 'leaseRevoke'; readonly header: Header }
  | { readonly type: 'leaseKeepAlive'; readonly header: Header; readonly id: number; readonly ttlSeconds: number }
  | { readonly type: 'leaseCheckpoint'; readonly header: Header }
  | { readonly type: 'leaseRebase'; readonly header: Header }
  /** An empty entry (a new leader's no-op). */
  | { readonly type: 'noop'; readonly header: Header }
  | ErrorResult;

// ---------------------------------------------------------------------------------------------
// Helpers.

/** The rangeEnd that selects every key starting with `prefix` ('\0' = to the end of the keyspace). */
export function prefixEnd(prefix: string): string {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 0xffff) end--;
  if (end === 0) return '\0';
  return prefix.slice(0, end - 1) + String.fromCharCode(prefix.charCodeAt(end - 1) + 1);
}

/** UTF-8 length of a string without allocating. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Encoding.

const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });

export function encodeCommand(command: Command): Uint8Array {
  return encoder.encode(command);
}

/** The propose-time size check: undefined when the encoded command may be proposed. */
export function checkRequestSize(encoded: Uint8Array): RequestTooLargeError | undefined {
  return encoded.length > MAX_REQUEST_BYTES ? new RequestTooLargeError(encoded.length, MAX_REQUEST_BYTES) : undefined;
}

/** Encode and apply the request-size limit: the way a proposer should build entry data. */
export function encodeForProposal(command: Command): Uint8Array | RequestTooLargeError {
  const bytes = encodeCommand(command);
  return checkRequestSize(bytes) ?? bytes;
}

/** Decode and validate entry data. Never throws: bad input gives a BadCommandError. */
export function decodeCommand(bytes: Uint8Array): Command | BadCommandError {
  if (bytes.length > MAX_REQUEST_BYTES) return new BadCommandError(`${bytes.length} bytes is over the request limit`);
  let raw: unknown;
  try {
    raw = encoder.decode(bytes);
  } catch (error) {
    return new BadCommandError(`undecodable: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return validateCommand(raw);
  } catch (error) {
    if (error instanceof BadCommandError) return error;
    return new BadCommandError(`invalid: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function encodeResult(result: ApplyResult): Uint8Array {
  return encoder.encode(result);
}

export function decodeResult(bytes: Uint8Array): ApplyResult {
  return encoder.decode(bytes) as ApplyResult;
}

// ---------------------------------------------------------------------------------------------
// Validation of decoded data (outside input). Throws BadCommandError; decodeCommand catches it.

type Fields = { readonly [field: string]: unknown };

function fail(reason: string): never {
  throw new BadCommandError(reason);
}
function object(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    fail(`${what} is not an object`);
  }
  return value as Fields;
}
function string(value: unknown, what: string): string {
  if (typeof value !== 'string') fail(`${what} is not a string`);
  return value;
}
function optionalString(value: unknown, what: string): string | undefined {
  return value === undefined ? undefined : string(value, what);
}
function integer(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) fail(`${what} is not a non-negative integer`);
  return value;
}
function optionalInteger(value: unknown, what: string): number | undefined {
  return value === undefined ? undefined : integer(value, what);
}
function bool(value: unknown, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') fail(`${what} is not a boolean`);
  return value;
}
function bytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(`${what} is not bytes`);
  return value;
}
function array(value: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(`${what} is not an array`);
  return value;
}
function oneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) fail(`${what} is not one of ${allowed.join(', ')}`);
  return value as T;
}

/** Copy only the fields that are set (exactOptionalPropertyTypes forbids explicit undefined). */
function defined<T extends object>(fields: { [K in keyof T]: T[K] | undefined }): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) out[name] = value;
  return out as T;
}

const SORT_ORDERS: readonly SortOrder[] = ['none', 'ascend', 'descend'];
const SORT_TARGETS: readonly SortTarget[] = ['key', 'version', 'createRevision', 'modRevision', 'value'];
const COMPARE_TARGETS: readonly CompareTarget[] = ['version', 'createRevision', 'modRevision', 'value', 'lease'];
const COMPARE_RESULTS: readonly CompareResult[] = ['equal', 'notEqual', 'less', 'greater'];

export function validateRange(raw: unknown): RangeRequest {
  const f = object(raw, 'range');
  return defined<RangeRequest>({
    key: string(f['key'], 'range.key'),
    rangeEnd: optionalString(f['rangeEnd'], 'range.rangeEnd'),
    limit: optionalInteger(f['limit'], 'range.limit'),
    revision: optionalInteger(f['revision'], 'range.revision'),
    countOnly: bool(f['countOnly'], 'range.countOnly'),
    keysOnly: bool(f['keysOnly'], 'range.keysOnly'),
    sortOrder: f['sortOrder'] === undefined ? undefined : oneOf(f['sortOrder'], SORT_ORDERS, 'range.sortOrder'),
    sortTarget: f['sortTarget'] === undefined ? undefined : oneOf(f['sortTarget'], SORT_TARGETS, 'range.sortTarget'),
  });
}

function validatePut(raw: unknown): PutRequest {
  const f = object(raw, 'put');
  return defined<PutRequest>({
    key: string(f['key'], 'put.key'),
    value: bytes(f['value'], 'put.value'),
    lease: optionalInteger(f['lease'], 'put.lease'),
    prevKv: bool(f['prevKv'], 'put.prevKv'),
    ignoreValue: bool(f['ignoreValue'], 'put.ignoreValue'),
    ignoreLease: bool(f['ignoreLease'], 'put.ignoreLease'),
  });
}

function validateDelete(raw: unknown): DeleteRangeRequest {
  const f = object(raw, 'deleteRange');
  return defined<DeleteRangeRequest>({
    key: string(f['key'], 'deleteRange.key'),
    rangeEnd: optionalString(f['rangeEnd'], 'deleteRange.rangeEnd'),
    prevKv: bool(f['prevKv'], 'deleteRange.prevKv'),
  });
}

function validateCompare(raw: unknown): Compare {
  const f = object(raw, 'compare');
  const target = oneOf(f['target'], COMPARE_TARGETS, 'compare.target');
  const value = target === 'value' ? bytes(f['value'], 'compare.value') : integer(f['value'], 'compare.value');
  return defined<Compare>({
    key: string(f['key'], 'compare.key'),
    rangeEnd: optionalString(f['rangeEnd'], 'compare.rangeEnd'),
    target,
    result: oneOf(f['result'], COMPARE_RESULTS, 'compare.result'),
    value,
  });
}

function validateOp(raw: unknown, depth: number): RequestOp {
  const f = object(raw, 'op');
  const names = Object.keys(f);
  if (names.length !== 1) fail('an op has exactly one of range, put, deleteRange, txn');
  if (f['range'] !== undefined) return { range: validateRange(f['range']) };
  if (f['put'] !== undefined) return { put: validatePut(f['put']) };
  if (f['deleteRange'] !== undefined) return { deleteRange: validateDelete(f['deleteRange']) };
  if (f['txn'] !== undefined) return { txn: validateTxn(f['txn'], depth + 1) };
  return fail(`unknown op ${names[0] ?? ''}`);
}

export function validateTxn(raw: unknown, depth = 1): TxnRequest {
  if (depth > MAX_TXN_DEPTH) fail(`txn nested deeper than ${MAX_TXN_DEPTH}`);
  const f = object(raw, 'txn');
  const ops = (value: unknown, what: string): RequestOp[] => {
    const list = array(value ?? [], what);
    if (list.length > MAX_TXN_OPS) fail(`${what} has more than ${MAX_TXN_OPS} ops`);
    return list.map((op) => validateOp(op, depth));
  };
  const compares = array(f['compare'] ?? [], 'txn.compare');
  if (compares.length > MAX_TXN_OPS) fail(`txn.compare has more than ${MAX_TXN_OPS} compares`);
  return {
    compare: compares.map(validateCompare),
    success: ops(f['success'], 'txn.success'),
    failure: ops(f['failure'], 'txn.failure'),
  };
}

function validateBody(raw: unknown): CommandBody {
  const f = object(raw, 'body');
  const type = string(f['type'], 'body.type');
  switch (type) {
    case 'put':
      return { type, put: validatePut(f['put']) };
    case 'deleteRange':
      return { type, deleteRange: validateDelete(f['deleteRange']) };
    case 'txn':
      return { type, txn: validateTxn(f['txn']) };
    case 'compact':
      return { type, revision: integer(f['revision'], 'compact.revision') };
    case 'leaseGrant':
      return { type, id: integer(f['id'], 'leaseGrant.id'), ttlSeconds: integer(f['ttlSeconds'], 'leaseGrant.ttlSeconds') };
    case 'leaseRevoke':
    case 'leaseKeepAlive':
      return { type, id: integer(f['id'], `${type}.id`) };
    case 'leaseCheckpoint':
      return { type };
    case 'leaseRebase':
      return { type, graceMs: integer(f['graceMs'], 'leaseRebase.graceMs') };
    default:
      return fail(`unknown command type ${JSON.stringify(type).slice(0, 40)}`);
  }
}

export function validateCommand(raw: unknown): Command {
  const f = object(raw, 'command');
  const nowMs = integer(f['nowMs'], 'nowMs');
  const body = validateBody(f['body']);
  if (f['session'] === undefined) return { nowMs, body };
  const s = object(f['session'], 'session');
  const clientId = string(s['clientId'], 'session.clientId');
  if (clientId.length === 0 || clientId.length > 256) fail('session.clientId must have 1..256 characters');
  const sequence = integer(s['sequence'], 'session.sequence');
  if (sequence < 1) fail('session.sequence starts at 1');
  return { nowMs, session: { clientId, sequence }, body };
}
