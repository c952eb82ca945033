// Remoting frames on the wire: one version byte, then a CBOR array [kind, ...fields] (cbor-x with
// records off, so every frame decodes on its own). decodeFrame checks every field's shape and throws
// only ProtocolError; remoting turns that into a disconnect of the peer.
//
//   message    [1, to path, to incarnation, body]          body: an object (its `type` is checked by remoting)
//   watch      [2, target path, target incarnation, watcher path]
//   unwatch    [3, target path, watcher path]
//   terminated [4, target path, watcher path, reason]       reason: 'stopped' | 'failed'
//   heartbeat  [5]
//
// Sender node and incarnation are not in the frame: the transport reports who sent it.
import { Decoder, Encoder } from 'cbor-x';
import { FrameTooLargeError, MessageEncodeError, ProtocolError } from './errors.js';

export const FRAME_VERSION = 1;
/** Largest encoded frame, version byte included. Larger ones throw to the sender / disconnect the peer. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Longest actor path and incarnation accepted from the wire. */
export const MAX_PATH_CHARS = 1024;
export const MAX_INCARNATION_CHARS = 256;

const KIND_MESSAGE = 1;
const KIND_WATCH = 2;
const KIND_UNWATCH = 3;
const KIND_TERMINATED = 4;
const KIND_HEARTBEAT = 5;

export type MessageBody = Readonly<Record<string, unknown>>;
export type RemoteTerminationReason = 'stopped' | 'failed';

export type Frame =
  | { readonly kind: 'message'; readonly to: string; readonly incarnation: string; readonly body: MessageBody }
  | { readonly kind: 'watch'; readonly target: string; readonly incarnation: string; readonly watcher: string }
  | { readonly kind: 'unwatch'; readonly target: string; readonly watcher: string }
  | { readonly kind: 'terminated'; readonly target: string; readonly watcher: string; readonly reason: RemoteTerminationReason }
  | { readonly kind: 'heartbeat' };

const encoder = new Encoder({ useRecords: false });
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true });

function wireArray(frame: Frame): unknown[] {
  switch (frame.kind) {
    case 'message':
      return [KIND_MESSAGE, frame.to, frame.incarnation, frame.body];
    case 'watch':
      return [KIND_WATCH, frame.target, frame.incarnation, frame.watcher];
    case 'unwatch':
      return [KIND_UNWATCH, frame.target, frame.watcher];
    case 'terminated':
      return [KIND_TERMINATED, frame.target, frame.watcher, frame.reason];
    case 'heartbeat':
      return [KIND_HEARTBEAT];
  }
}

/** Encodes a frame; throws MessageEncodeError (not encodable) or FrameTooLargeError (over maxFrameBytes). */
export function encodeFrame(frame: Frame, maxFrameBytes = MAX_FRAME_BYTES): Uint8Array {
  let cbor: Uint8Array;
  try {
    cbor = encoder.encode(wireArray(frame));
  } catch (error) {
    throw new MessageEncodeError(`cannot encode ${frame.kind} frame: ${error instanceof Error ? error.message : String(error)}`);
  }
  const size = cbor.length + 1;
  if (size > maxFrameBytes) throw new FrameTooLargeError(`${frame.kind} frame of ${size} bytes exceeds the limit of ${maxFrameBytes} bytes`);
  // A fresh buffer: cbor-x's output may share memory with its internal buffer, and the transport may
  // hold the frame until the end of the turn.
  const bytes = new Uint8Array(size);
  bytes[0] = FRAME_VERSION;
  bytes.set(cbor, 1);
  return bytes;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function path(value: unknown, field: string): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length > MAX_PATH_CHARS) throw new ProtocolError(`invalid ${field} path`);
  return value;
}

function incarnation(value: unknown): string {
  if (typeof value !== 'string' || value.length > MAX_INCARNATION_CHARS) throw new ProtocolError('invalid incarnation');
  return value;
}

function arity(items: readonly unknown[], expected: number, kind: string): void {
  if (items.length !== expected) throw new ProtocolError(`${kind} frame with ${items.length} fields, expected ${expected}`);
}

/** Decodes and shape-checks a frame. Throws ProtocolError, and nothing else, for any bad input. */
export function decodeFrame(bytes: Uint8Array, maxFrameBytes = MAX_FRAME_BYTES): Frame {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('frame is not bytes');
  if (bytes.length > maxFrameBytes) throw new ProtocolError(`frame of ${bytes.length} bytes exceeds the limit of ${maxFrameBytes} bytes`);
  if (bytes.length < 2) throw new ProtocolError('frame too short');
  if (bytes[0] !== FRAME_VERSION) throw new ProtocolError(`unsupported frame version ${bytes[0]}`);
  let decoded: unknown;
  try {
    decoded = decoder.decode(bytes.subarray(1));
  } catch (error) {
    throw new ProtocolError(`undecodable frame: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown'}`);
  }
  if (!Array.isArray(decoded) || decoded.length === 0) throw new ProtocolError('frame is not a non-empty array');
  const items: readonly unknown[] = decoded;
  switch (items[0]) {
    case KIND_MESSAGE: {
      arity(items, 4, 'message');
      const body = items[3];
      if (!isPlainObject(body)) throw new ProtocolError('message body is not an object');
      return { kind: 'message', to: path(items[1], 'target'), incarnation: incarnation(items[2]), body };
    }
    case KIND_WATCH:
      arity(items, 4, 'watch');
      return { kind: 'watch', target: path(items[1], 'target'), incarnation: incarnation(items[2]), watcher: path(items[3], 'watcher') };
    case KIND_UNWATCH:
      arity(items, 3, 'unwatch');
      return { kind: 'unwatch', target: path(items[1], 'target'), watcher: path(items[2], 'watcher') };
    case KIND_TERMINATED: {
      arity(items, 4, 'terminated');
      const reason = items[3];
      if (reason !== 'stopped' && reason !== 'failed') throw new ProtocolError('invalid termination reason');
      return { kind: 'terminated', target: path(items[1], 'target'), watcher: path(items[2], 'watcher'), reason };
    }
    case KIND_HEARTBEAT:
      arity(items, 1, 'heartbeat');
      return { kind: 'heartbeat' };
    default:
      throw new ProtocolError('unknown frame kind');
  }
}
