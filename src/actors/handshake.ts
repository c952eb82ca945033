// The peer handshake of the WebSocket transport: an HMAC-SHA256 challenge-response that proves,
// in both directions, that each side holds the cluster secret BEFORE any actor frame is read.
//
//   acceptor -> dialler   challenge { nonce: acceptorNonce }
//   dialler  -> acceptor  hello     { from, incarnation, to, nonce: diallerNonce, proof }
//   acceptor -> dialler   welcome   { from, incarnation, proof }
//
// The dialler's proof covers both nonces, its own identity and the node it meant to reach; the
// acceptor's proof covers the dialler's nonce (fresh, chosen by the dialler) and its own identity, so
// neither proof can be replayed on another connection or reflected back (each role has its own label).
// Handshake messages are small JSON text frames; this module only builds and checks them and never
// throws on outside input: a bad message becomes `undefined` and the caller closes the connection.
// It uses node:crypto because it belongs to the I/O layer (ws-transport.ts is its only user).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { NodeId } from './transport.js';

/** Bumped when the handshake changes incompatibly; a peer with another version is refused. */
export const HANDSHAKE_VERSION = 1;
/** Any message larger than this before authentication is a protocol violation. */
export const HANDSHAKE_MESSAGE_MAX_BYTES = 1024;
/** Random bytes per nonce (hex-encoded on the wire). */
export const NONCE_BYTES = 32;
/** The cluster secret must be at least this long: a short secret is guessable offline from one handshake. */
export const SECRET_MIN_BYTES = 16;
/** Longest incarnation string accepted from a peer. */
export const INCARNATION_MAX_CHARS = 128;

const DOMAIN_LABEL = 'kplane-actors-handshake-v1';
const NONCE_PATTERN = /^[0-9a-f]{64}$/;
const PROOF_PATTERN = /^[0-9a-f]{64}$/;
/** name, or name@host:port (host may be a bracketed IPv6 address). No '|' so proofs stay unambiguous. */
const NODE_ID_PATTERN = /^[A-Za-z0-9._-]{1,64}(@([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):[0-9]{1,5})?$/;
const INCARNATION_PATTERN = /^[\x21-\x7b\x7d\x7e]{1,128}$/; // printable ASCII without '|'

export interface Challenge {
  readonly type: 'kplane.challenge';
  readonly version: number;
  readonly nonce: string;
}

export interface Hello {
  readonly type: 'kplane.hello';
  readonly version: number;
  readonly from: NodeId;
  readonly incarnation: string;
  /** The node the dialler meant to reach: the acceptor refuses a hello meant for someone else. */
  readonly to: NodeId;
  readonly nonce: string;
  readonly proof: string;
}

export interface Welcome {
  readonly type: 'kplane.welcome';
  readonly version: number;
  readonly from: NodeId;
  readonly incarnation: string;
  readonly proof: string;
}

export function isValidNodeId(node: string): boolean {
  return NODE_ID_PATTERN.test(node);
}

export function isValidIncarnation(incarnation: string): boolean {
  return INCARNATION_PATTERN.test(incarnation);
}

/** The secret as bytes; throws (at configuration time) when it is too short to be safe. */
export function secretBytes(secret: Uint8Array | string): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (bytes.length < SECRET_MIN_BYTES) {
    throw new RangeError(`the cluster secret must be at least ${SECRET_MIN_BYTES} bytes (got ${bytes.length})`);
  }
  return bytes;
}

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('hex');
}

function hmacHex(secret: Buffer, parts: readonly string[]): string {
  return createHmac('sha256', secret).update(parts.join('|'), 'utf8').digest('hex');
}

export function diallerProof(secret: Buffer, acceptorNonce: string, diallerNonce: string, from: NodeId, incarnation: string, to: NodeId): string {
  return hmacHex(secret, [DOMAIN_LABEL, 'dialler-proof', acceptorNonce, diallerNonce, from, incarnation, to]);
}

export function acceptorProof(secret: Buffer, diallerNonce: string, acceptorNonce: string, from: NodeId, incarnation: string, to: NodeId): string {
  return hmacHex(secret, [DOMAIN_LABEL, 'acceptor-proof', diallerNonce, acceptorNonce, from, incarnation, to]);
}

/** Constant-time comparison of two hex proofs of the right shape. */
export function proofsMatch(expectedHex: string, receivedHex: string): boolean {
  if (!PROOF_PATTERN.test(receivedHex) || expectedHex.length !== receivedHex.length) return false;
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(receivedHex, 'hex'));
}

export function challengeMessage(nonce: string): string {
  const message: Challenge = { type: 'kplane.challenge', version: HANDSHAKE_VERSION, nonce };
  return JSON.stringify(message);
}

export function helloMessage(hello: Omit<Hello, 'type' | 'version'>): string {
  const message: Hello = { type: 'kplane.hello', version: HANDSHAKE_VERSION, ...hello };
  return JSON.stringify(message);
}

export function welcomeMessage(welcome: Omit<Welcome, 'type' | 'version'>): string {
  const message: Welcome = { type: 'kplane.welcome', version: HANDSHAKE_VERSION, ...welcome };
  return JSON.stringify(message);
}

/** Parses a pre-authentication text message into a plain record, or undefined if it is not one. */
function parseRecord(text: string): Record<string, unknown> | undefined {
  if (text.length > HANDSHAKE_MESSAGE_MAX_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (record['version'] !== HANDSHAKE_VERSION) return undefined;
  return record;
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

export function parseChallenge(text: string): Challenge | undefined {
  const record = parseRecord(text);
  if (record === undefined || record['type'] !== 'kplane.challenge') return undefined;
  const nonce = stringField(record, 'nonce');
  if (nonce === undefined || !NONCE_PATTERN.test(nonce)) return undefined;
  return { type: 'kplane.challenge', version: HANDSHAKE_VERSION, nonce };
}

export function parseHello(text: string): Hello | undefined {
  const record = parseRecord(text);
  if (record === undefined || record['type'] !== 'kplane.hello') return undefined;
  const from = stringField(record, 'from');
  const incarnation = stringField(record, 'incarnation');
  const to = stringField(record, 'to');
  const nonce = stringField(record, 'nonce');
  const proof = stringField(record, 'proof');
  if (from === undefined || !isValidNodeId(from)) return undefined;
  if (to === undefined || !isValidNodeId(to)) return undefined;
  if (incarnation === undefined || !isValidIncarnation(incarnation)) return undefined;
  if (nonce === undefined || !NONCE_PATTERN.test(nonce)) return undefined;
  if (proof === undefined || !PROOF_PATTERN.test(proof)) return undefined;
  return { type: 'kplane.hello', version: HANDSHAKE_VERSION, from, incarnation, to, nonce, proof };
}

export function parseWelcome(text: string): Welcome | undefined {
  const record = parseRecord(text);
  if (record === undefined || record['type'] !== 'kplane.welcome') return undefined;
  const from = stringField(record, 'from');
  const incarnation = stringField(record, 'incarnation');
  const proof = stringField(record, 'proof');
  if (from === undefined || !isValidNodeId(from)) return undefined;
  if (incarnation === undefined || !isValidIncarnation(incarnation)) return undefined;
  if (proof === undefined || !PROOF_PATTERN.test(proof)) return undefined;
  return { type: 'kplane.welcome', version: HANDSHAKE_VERSION, from, incarnation, proof };
}
