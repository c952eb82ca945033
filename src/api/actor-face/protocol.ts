// The API server's actor-transport face: the messages the cluster's own components (controllers,
// scheduler shards, node agents) exchange with the API endpoint actor at API_ENDPOINT_PATH.
//
// The operations are exactly the REST ones (method, path, query, body), so one pipeline serves both
// transports: ActorApiTransport (src/client/actor-transport.ts) sends what the HTTP client would send,
// and the endpoint (endpoint.ts) runs it through ApiHandler.handle as the authenticated sender.
//
//   api.call     → the endpoint answers the ask with api.reply { status, contentType, body }
//   api.watch    → the endpoint tells the watcher `target`: api.watchStarted once the watch runs (any
//                  initial ADDED events may come before it), then api.watchEvent { seq, event } with seq
//                  1, 2, 3… (a gap means events were lost: the client ends the watch and resumes), and
//                  finally api.watchEnd (with status and body when the watch was refused or failed)
//   api.unwatch  → the endpoint stops the watch; nothing is answered
//
// Bodies and watch objects travel as JSON text (UTF-8 bytes), as they would over HTTPS, so both faces
// answer byte for byte the same documents. Everything here arrives from the network: the validators
// check shapes only (a bad shape disconnects the sender, see src/actors/remoting.ts); limits such as
// body size are the endpoint's, answered with a Status.

import type { ActorRef, MessageProtocol } from '../../actors/index.js';
import { isActorRef } from '../../actors/index.js';

/** Where the endpoint actor lives in every API server process. */
export const API_ENDPOINT_PATH = '/user/api';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export const API_METHODS: readonly ApiMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export type ApiWatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
const WATCH_EVENT_TYPES: ReadonlySet<string> = new Set<ApiWatchEventType>(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK', 'ERROR']);

/** Longest path accepted (Kubernetes names are short; this is generous). */
export const PATH_MAX_CHARS = 8_192;
/** Longest query string accepted (selectors and continue tokens). */
export const QUERY_MAX_CHARS = 65_536;
export const CONTENT_TYPE_MAX_CHARS = 256;
/** callId and watchId: chosen by the client, unique per client process. */
export const ID_MAX_CHARS = 128;

export interface ApiCallMessage {
  readonly type: 'api.call';
  /** Echoed in the reply (for logs and tracing); asks correlate by their temp ref anyway. */
  readonly callId?: string;
  readonly method: ApiMethod;
  /** e.g. /api/v1/namespaces/default/pods/web-1/status (not percent-decoded). */
  readonly path: string;
  /** The query string without '?'. */
  readonly query: string;
  readonly contentType?: string;
  readonly body?: Uint8Array;
  readonly replyTo: ActorRef<ApiReplyMessage>;
}

export interface ApiReplyMessage {
  readonly type: 'api.reply';
  readonly callId?: string;
  readonly status: number;
  /** Media type of body: application/json for objects and Status documents. */
  readonly contentType: string;
  readonly body: Uint8Array;
}

export interface ApiWatchMessage {
  readonly type: 'api.watch';
  readonly watchId: string;
  readonly method: 'GET';
  readonly path: string;
  /** Must ask for a watch (watch=1 or watch=true). */
  readonly query: string;
  /** Gets every message of this watch; must live in the sender's own process. */
  readonly target: ActorRef<ApiWatcherMessage>;
}

export interface ApiUnwatchMessage {
  readonly type: 'api.unwatch';
  readonly watchId: string;
  readonly target: ActorRef<ApiWatcherMessage>;
}

export type ApiEndpointMessage = ApiCallMessage | ApiWatchMessage | ApiUnwatchMessage;

export interface ApiWatchStartedMessage {
  readonly type: 'api.watchStarted';
  readonly watchId: string;
}

export interface ApiWatchEventMessage {
  readonly type: 'api.watchEvent';
  readonly watchId: string;
  /** 1 for the first event of a watch, then consecutive. */
  readonly seq: number;
  readonly event: { readonly type: ApiWatchEventType; readonly object: Uint8Array };
}

export interface ApiWatchEndMessage {
  readonly type: 'api.watchEnd';
  readonly watchId: string;
  /** Present when the watch was refused or failed: the HTTP status and its Status document (JSON). */
  readonly status?: number;
  readonly body?: Uint8Array;
}

export type ApiWatcherMessage = ApiWatchStartedMessage | ApiWatchEventMessage | ApiWatchEndMessage;

// ---- validators (shapes only) -------------------------------------------------------------------

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isId = (value: unknown): boolean => typeof value === 'string' && value.length > 0 && value.length <= ID_MAX_CHARS;
const isOptional = (value: unknown, check: (value: unknown) => boolean): boolean => value === undefined || check(value);
const isPath = (value: unknown): boolean => typeof value === 'string' && value.startsWith('/') && value.length <= PATH_MAX_CHARS;
const isQuery = (value: unknown): boolean => typeof value === 'string' && value.length <= QUERY_MAX_CHARS;
const isContentType = (value: unknown): boolean => typeof value === 'string' && value.length <= CONTENT_TYPE_MAX_CHARS;
const isBytes = (value: unknown): boolean => value instanceof Uint8Array;
const isMethod = (value: unknown): boolean => typeof value === 'string' && (API_METHODS as readonly string[]).includes(value);
const isStatusCode = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 100 && (value as number) <= 599;

export function isApiCall(message: unknown): message is ApiCallMessage {
  return (
    isRecord(message) &&
    message['type'] === 'api.call' &&
    isOptional(message['callId'], isId) &&
    isMethod(message['method']) &&
    isPath(message['path']) &&
    isQuery(message['query']) &&
    isOptional(message['contentType'], isContentType) &&
    isOptional(message['body'], isBytes) &&
    isActorRef(message['replyTo'])
  );
}

export function isApiWatch(message: unknown): message is ApiWatchMessage {
  return (
    isRecord(message) &&
    message['type'] === 'api.watch' &&
    isId(message['watchId']) &&
    message['method'] === 'GET' &&
    isPath(message['path']) &&
    isQuery(message['query']) &&
    isActorRef(message['target'])
  );
}

export function isApiUnwatch(message: unknown): message is ApiUnwatchMessage {
  return isRecord(message) && message['type'] === 'api.unwatch' && isId(message['watchId']) && isActorRef(message['target']);
}

export function isApiWatchStarted(message: unknown): message is ApiWatchStartedMessage {
  return isRecord(message) && message['type'] === 'api.watchStarted' && isId(message['watchId']);
}

export function isApiWatchEvent(message: unknown): message is ApiWatchEventMessage {
  if (!isRecord(message) || message['type'] !== 'api.watchEvent' || !isId(message['watchId'])) return false;
  const seq = message['seq'];
  const event = message['event'];
  return Number.isSafeInteger(seq) && (seq as number) >= 1 && isRecord(event) && typeof event['type'] === 'string' && WATCH_EVENT_TYPES.has(event['type']) && isBytes(event['object']);
}

export function isApiWatchEnd(message: unknown): message is ApiWatchEndMessage {
  return isRecord(message) && message['type'] === 'api.watchEnd' && isId(message['watchId']) && isOptional(message['status'], isStatusCode) && isOptional(message['body'], isBytes);
}

/** Whether an ask reply is a well-formed api.reply (replies skip the protocol check, so the client checks). */
export function isApiReply(message: unknown): message is ApiReplyMessage {
  return isRecord(message) && message['type'] === 'api.reply' && isStatusCode(message['status']) && isContentType(message['contentType']) && isBytes(message['body']);
}

/** What an API server process accepts from components. */
export const API_SERVER_PROTOCOL: MessageProtocol = {
  types: ['api.call', 'api.watch', 'api.unwatch'],
  validators: { 'api.call': isApiCall, 'api.watch': isApiWatch, 'api.unwatch': isApiUnwatch },
};

/** What a component process accepts from API servers (call replies are ask replies and need no entry). */
export const API_CLIENT_PROTOCOL: MessageProtocol = {
  types: ['api.watchStarted', 'api.watchEvent', 'api.watchEnd'],
  validators: { 'api.watchStarted': isApiWatchStarted, 'api.watchEvent': isApiWatchEvent, 'api.watchEnd': isApiWatchEnd },
};

/** One protocol accepting every type of the given ones (a process that is, say, both a store client and an API server). */
export function mergeProtocols(...protocols: readonly MessageProtocol[]): MessageProtocol {
  const types = new Set<string>();
  const validators: Record<string, (message: unknown) => boolean> = {};
  for (const protocol of protocols) {
    for (const type of protocol.types) {
      if (types.has(type)) throw new TypeError(`mergeProtocols: message type ${type} is in two protocols`);
      types.add(type);
    }
    Object.assign(validators, protocol.validators ?? {});
  }
  return { types: [...types], validators };
}
