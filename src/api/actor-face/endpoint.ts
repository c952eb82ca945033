// The API server's endpoint actor (at API_ENDPOINT_PATH): the same request pipeline as the HTTPS face,
// reached over the actor transport by the cluster's own components (see protocol.ts for the messages).
//
//   - api.call: the caller's user comes from the authenticated peer (identity.ts), never from the
//     message; the call runs through ApiHandler.handle (authorize, decode, default, validate, admit,
//     store) and its answer is told to replyTo. Calls run concurrently: receive never awaits, so a
//     slow write does not hold up the calls behind it. At most maxCallsInFlight run at once; past it,
//     429. Bodies over maxBodyBytes get 413. A reply too large for one frame becomes a 500 Status
//     that says to page with limit.
//   - api.watch / api.unwatch: a watch streams to the caller's `target` actor. The endpoint
//     death-watches every target, so the watches of a component that died (or whose process became
//     unreachable) are stopped. Watches are bounded per peer process and in total (429 past either).
//   - Replies and watch messages go only to actors in the sender's own process: a call whose replyTo,
//     or a watch whose target, names another process is dropped (and logged), so no peer can aim the
//     API server's answers at a third party or cancel another peer's watches.
// Bad shapes never get here (the MessageProtocol validators refuse them and disconnect the sender).

import type { ActorContext, ActorRef, Behavior, NodeId } from '../../actors/index.js';
import { formatRef, isSignal, MAX_FRAME_BYTES, refKey, remoteSenderOf } from '../../actors/index.js';
import type { UserInfo } from '../auth-types.js';
import type { ApiRequest, ApiResponse } from '../handlers/types.js';
import type { ApiHandler } from '../pipeline.js';
import { isWatchRequested } from '../request-info.js';
import { ApiError, errors } from '../status.js';
import type { RunningWatch, WatchSink } from '../storage/watch.js';
import { identifySender } from './identity.js';
import type { ApiCallMessage, ApiEndpointMessage, ApiReplyMessage, ApiUnwatchMessage, ApiWatcherMessage, ApiWatchMessage } from './protocol.js';

export const CALLS_IN_FLIGHT_MAX_DEFAULT = 400;
export const WATCHES_PER_PEER_MAX_DEFAULT = 1_000;
export const WATCHES_MAX_DEFAULT = 10_000;
/** As the HTTPS face: request bodies over 3 MiB get 413. */
export const BODY_MAX_BYTES_DEFAULT = 3 * 1024 * 1024;
/** The largest reply body that fits in one frame with room for its envelope. */
export const REPLY_BODY_MAX_BYTES = MAX_FRAME_BYTES - 64 * 1024;

const JSON_MEDIA_TYPE = 'application/json';

export interface ApiEndpointOptions {
  readonly handler: ApiHandler;
  /**
   * Users for peers that present no certificate (secret-only transport), by node name (the node id
   * before '@'). Absent or empty: such peers get 401. See identity.ts for what this trusts.
   */
  readonly secretPeerUsers?: ReadonlyMap<string, UserInfo>;
  readonly maxCallsInFlight?: number;
  readonly maxWatchesPerPeer?: number;
  readonly maxWatches?: number;
  readonly maxBodyBytes?: number;
}

interface ServedWatch {
  readonly watchId: string;
  readonly target: ActorRef<ApiWatcherMessage>;
  readonly targetKey: string;
  readonly peer: NodeId;
  running: RunningWatch | undefined;
  ended: boolean;
  /** The seq of the last event told. */
  seq: number;
}

export interface ApiEndpointState {
  callsInFlight: number;
  /** By target refKey, then by the client's watchId. */
  readonly watches: Map<string, Map<string, ServedWatch>>;
  readonly watchesPerPeer: Map<NodeId, number>;
  watchCount: number;
}

type Context = ActorContext<ApiEndpointMessage>;

const encoder = new TextEncoder();

function jsonBytes(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

function positiveInteger(value: number | undefined, fallback: number, field: string): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < 1) throw new RangeError(`ApiEndpointOptions.${field} must be a positive integer, got ${String(value)}`);
  return chosen;
}

/** The wire form of a pipeline answer (never a watch: calls that ask for one are refused before). */
function replyBody(response: ApiResponse): { readonly status: number; readonly contentType: string; readonly body: Uint8Array } {
  if ('watch' in response) {
    const error = errors.badRequest('watches go through api.watch');
    return { status: error.httpStatus, contentType: JSON_MEDIA_TYPE, body: jsonBytes(error.toStatus()) };
  }
  if ('text' in response) return { status: response.status, contentType: response.headers?.['content-type'] ?? 'text/plain; charset=utf-8', body: encoder.encode(response.text) };
  return { status: response.status, contentType: JSON_MEDIA_TYPE, body: jsonBytes(response.body) };
}

function requestOf(message: ApiCallMessage | ApiWatchMessage, user: UserInfo): ApiRequest {
  const contentType = message.type === 'api.call' ? message.contentType : undefined;
  const body = message.type === 'api.call' ? message.body : undefined;
  return {
    method: message.method,
    path: message.path,
    query: new URLSearchParams(message.query),
    headers: { accept: JSON_MEDIA_TYPE, ...(contentType === undefined ? {} : { 'content-type': contentType }) },
    ...(body === undefined ? {} : { body }),
    user,
  };
}

export function apiEndpointBehavior(options: ApiEndpointOptions): Behavior<ApiEndpointMessage, ApiEndpointState> {
  const handler = options.handler;
  const secretPeerUsers = options.secretPeerUsers ?? new Map<string, UserInfo>();
  const maxCallsInFlight = positiveInteger(options.maxCallsInFlight, CALLS_IN_FLIGHT_MAX_DEFAULT, 'maxCallsInFlight');
  const maxWatchesPerPeer = positiveInteger(options.maxWatchesPerPeer, WATCHES_PER_PEER_MAX_DEFAULT, 'maxWatchesPerPeer');
  const maxWatches = positiveInteger(options.maxWatches, WATCHES_MAX_DEFAULT, 'maxWatches');
  const maxBodyBytes = positiveInteger(options.maxBodyBytes, BODY_MAX_BYTES_DEFAULT, 'maxBodyBytes');

  /** Tells, never throwing: an unencodable or oversized message is logged and reported as false. */
  const send = <T>(ctx: Context, to: ActorRef<T>, message: T): boolean => {
    try {
      ctx.tell(to, message);
      return true;
    } catch (error) {
      ctx.log.warn({ err: error, to: formatRef(to) }, 'api endpoint could not send');
      return false;
    }
  };

  // ---- calls ----

  const handleCall = (ctx: Context, state: ApiEndpointState, message: ApiCallMessage): void => {
    const sender = remoteSenderOf(message);
    if (sender !== undefined && message.replyTo.node !== sender.node) {
      ctx.log.warn({ peer: sender.node, replyTo: formatRef(message.replyTo) }, 'api.call with a reply address outside its sender, dropped');
      return;
    }
    const answer = (reply: { readonly status: number; readonly contentType: string; readonly body: Uint8Array }): void => {
      let checked = reply;
      if (reply.body.byteLength > REPLY_BODY_MAX_BYTES) {
        const error = errors.internal(`the response is ${reply.body.byteLength} bytes, more than the actor transport carries (${REPLY_BODY_MAX_BYTES}); ask for fewer items with limit`);
        checked = { status: error.httpStatus, contentType: JSON_MEDIA_TYPE, body: jsonBytes(error.toStatus()) };
      }
      const out: ApiReplyMessage = { type: 'api.reply', ...(message.callId === undefined ? {} : { callId: message.callId }), ...checked };
      send(ctx, message.replyTo, out);
    };
    const fail = (error: ApiError): void => answer({ status: error.httpStatus, contentType: JSON_MEDIA_TYPE, body: jsonBytes(error.toStatus()) });

    const identity = identifySender(sender, secretPeerUsers);
    if (identity.kind === 'refused') {
      ctx.log.debug({ peer: sender?.node, reason: identity.reason }, 'api.call refused: unauthenticated');
      fail(errors.unauthorized());
      return;
    }
    if (message.body !== undefined && message.body.byteLength > maxBodyBytes) {
      fail(errors.tooLarge(`the request body is larger than ${maxBodyBytes} bytes`));
      return;
    }
    const request = requestOf(message, identity.user);
    if (isWatchRequested(request.query)) {
      fail(errors.badRequest('watches go through api.watch'));
      return;
    }
    if (state.callsInFlight >= maxCallsInFlight) {
      fail(errors.tooManyRequests());
      return;
    }
    state.callsInFlight++;
    void handler
      .handle(request)
      .then(
        (response) => answer(replyBody(response)),
        (error: unknown) => {
          ctx.log.error({ err: error, method: message.method, path: message.path }, 'api.call failed');
          fail(errors.internal(error instanceof Error ? error.message : String(error)));
        },
      )
      .finally(() => {
        state.callsInFlight--;
      });
  };

  // ---- watches ----

  const forget = (ctx: Context, state: ApiEndpointState, served: ServedWatch): boolean => {
    if (served.ended) return false;
    served.ended = true;
    served.running?.stop();
    served.running = undefined;
    const byTarget = state.watches.get(served.targetKey);
    if (byTarget?.get(served.watchId) === served) {
      byTarget.delete(served.watchId);
      state.watchCount--;
      const perPeer = (state.watchesPerPeer.get(served.peer) ?? 1) - 1;
      if (perPeer <= 0) state.watchesPerPeer.delete(served.peer);
      else state.watchesPerPeer.set(served.peer, perPeer);
      if (byTarget.size === 0) {
        state.watches.delete(served.targetKey);
        ctx.unwatch(served.target);
      }
    }
    return true;
  };

  const endWatch = (ctx: Context, state: ApiEndpointState, served: ServedWatch, error?: ApiError): void => {
    if (!forget(ctx, state, served)) return;
    send(ctx, served.target, {
      type: 'api.watchEnd',
      watchId: served.watchId,
      ...(error === undefined ? {} : { status: error.httpStatus, body: jsonBytes(error.toStatus()) }),
    });
  };

  const handleWatch = (ctx: Context, state: ApiEndpointState, message: ApiWatchMessage): void => {
    const sender = remoteSenderOf(message);
    if (sender !== undefined && message.target.node !== sender.node) {
      ctx.log.warn({ peer: sender.node, target: formatRef(message.target) }, 'api.watch with a target outside its sender, dropped');
      return;
    }
    const target = message.target;
    const targetKey = refKey(target);
    if (state.watches.get(targetKey)?.has(message.watchId) === true) {
      ctx.log.warn({ target: formatRef(target), watchId: message.watchId }, 'api.watch with an id already open, dropped');
      return;
    }
    const refuse = (error: ApiError): void => {
      send(ctx, target, { type: 'api.watchEnd', watchId: message.watchId, status: error.httpStatus, body: jsonBytes(error.toStatus()) });
    };
    const identity = identifySender(sender, secretPeerUsers);
    if (identity.kind === 'refused' || sender === undefined) {
      refuse(errors.unauthorized());
      return;
    }
    const request = requestOf(message, identity.user);
    if (!isWatchRequested(request.query)) {
      refuse(errors.badRequest('api.watch needs watch=1 in its query'));
      return;
    }
    const peer = sender.node;
    if (state.watchCount >= maxWatches || (state.watchesPerPeer.get(peer) ?? 0) >= maxWatchesPerPeer) {
      refuse(errors.tooManyRequests(`too many watches (at most ${maxWatchesPerPeer} per client process, ${maxWatches} in all)`));
      return;
    }

    const served: ServedWatch = { watchId: message.watchId, target, targetKey, peer, running: undefined, ended: false, seq: 0 };
    let byTarget = state.watches.get(targetKey);
    if (byTarget === undefined) {
      byTarget = new Map();
      state.watches.set(targetKey, byTarget);
      ctx.watch(target);
    }
    byTarget.set(served.watchId, served);
    state.watchCount++;
    state.watchesPerPeer.set(peer, (state.watchesPerPeer.get(peer) ?? 0) + 1);

    const sink: WatchSink = {
      event: (event) => {
        if (served.ended) return;
        served.seq++;
        const told = send(ctx, target, { type: 'api.watchEvent', watchId: served.watchId, seq: served.seq, event: { type: event.type, object: jsonBytes(event.object) } });
        if (!told) endWatch(ctx, state, served, errors.internal('a watch event could not be sent'));
      },
      end: () => endWatch(ctx, state, served),
    };
    const start = async (): Promise<void> => {
      const response = await handler.handle(request);
      if (!('watch' in response)) {
        // Refused by the pipeline (403, 404, 400…): the Status goes back as the end of the watch.
        const reply = replyBody(response);
        if (forget(ctx, state, served)) send(ctx, target, { type: 'api.watchEnd', watchId: served.watchId, status: reply.status, body: reply.body });
        return;
      }
      if (served.ended) return; // unwatched, or its target died, before it began
      const running = await response.watch(sink);
      if (served.ended) {
        running.stop();
        return;
      }
      served.running = running;
      send(ctx, target, { type: 'api.watchStarted', watchId: served.watchId });
    };
    start().catch((error: unknown) => {
      if (!(error instanceof ApiError)) ctx.log.error({ err: error, path: message.path }, 'api.watch failed');
      endWatch(ctx, state, served, error instanceof ApiError ? error : errors.internal(error instanceof Error ? error.message : String(error)));
    });
  };

  const handleUnwatch = (ctx: Context, state: ApiEndpointState, message: ApiUnwatchMessage): void => {
    const sender = remoteSenderOf(message);
    if (sender !== undefined && message.target.node !== sender.node) {
      ctx.log.warn({ peer: sender.node, target: formatRef(message.target) }, 'api.unwatch of another process, dropped');
      return;
    }
    const served = state.watches.get(refKey(message.target))?.get(message.watchId);
    if (served !== undefined) forget(ctx, state, served);
  };

  return {
    start: () => ({ callsInFlight: 0, watches: new Map(), watchesPerPeer: new Map(), watchCount: 0 }),
    receive(ctx, state, message) {
      if (isSignal(message)) {
        const byTarget = state.watches.get(refKey(message.ref));
        if (byTarget !== undefined) {
          const gone = [...byTarget.values()];
          for (const served of gone) forget(ctx, state, served);
          ctx.log.debug({ target: formatRef(message.ref), watches: gone.length, reason: message.reason }, 'watch target gone, its watches stopped');
        }
        return state;
      }
      switch (message.type) {
        case 'api.call':
          handleCall(ctx, state, message);
          break;
        case 'api.watch':
          handleWatch(ctx, state, message);
          break;
        case 'api.unwatch':
          handleUnwatch(ctx, state, message);
          break;
        default:
          ctx.log.warn({ messageType: (message as { readonly type?: unknown }).type }, 'api endpoint ignores an unknown message');
      }
      return state;
    },
    stop(ctx, state) {
      // The endpoint is going away: every watcher hears the end (it resumes against another API server).
      for (const byTarget of [...state.watches.values()]) {
        for (const served of [...byTarget.values()]) endWatch(ctx, state, served);
      }
    },
  };
}
