// The client endpoint of a store replica: the actor at ENDPOINT_PATH that StoreClients talk to.
//
// It turns protocol messages (protocol.ts) into ReplicaEngine calls and their outcomes into replies:
//   - store.request: validates the operation (command bodies with the store's validateCommand, ranges
//     with validateRange: garbage gets BAD_COMMAND / INVALID_REQUEST, never a crash), starts the engine
//     call and replies when it settles. Calls run concurrently: receive never awaits an engine call,
//     so a slow write does not hold up reads or other writes behind it.
//   - store.watch / store.unwatch: a watch served from this replica's state machine; batches are told
//     to the client's `target` actor as store.watchBatch, numbered (seq 1, 2, ...) so the client can
//     tell a lost batch (the transport is at-most-once) and re-open the watch. The endpoint death-watches every target, so
//     the watches of a client that died (or stopped its watcher actor) are cancelled.
// Errors become StoreReply { ok: false, code, message }; NOT_LEADER carries the leader's actor node
// (mapped from the engine's leader replica id through the replica address list) so the client can
// follow the redirect.

import type { ActorContext, ActorRef, Behavior, NodeId } from '../../actors/index.js';
import { isSignal, refKey } from '../../actors/index.js';
import { validateCommand, validateRange, type ApplyResult, type ClientSession, type CommandBody, type RangeRequest } from '../commands.js';
import { CompactedError, FutureRevisionError, NotLeaderError, StoreError, type StoreErrorCode } from '../errors.js';
import type { WatchBatch, WatchRequest } from '../watch-hub.js';
import type { EngineWatch, ReplicaEngine } from './engine.js';
import { validateMembershipChange, type MembershipChange, type MembershipStatus } from './membership.js';
import type { EndpointMessage, ReplicaAddress, StoreOperation, StoreReply, StoreRequest, StoreUnwatch, StoreWatch, WatcherMessage } from './protocol.js';

export interface EndpointOptions {
  readonly engine: ReplicaEngine;
  /** Every replica of the group (this one included): maps a leader id to its node for redirects. */
  readonly replicas: readonly ReplicaAddress[];
  /** The replica's metrics in Prometheus text format, for the `metrics` operation (default: none). */
  readonly metrics?: () => string;
  /** The current address of a replica id, when it can change (the replicated address book); else `replicas`. */
  readonly addressOf?: (id: number) => NodeId | undefined;
  /** The membership operations (ReplicaNode); without it they answer INVALID_REQUEST. */
  readonly membership?: {
    membership(): MembershipStatus;
    changeMembership(change: MembershipChange): Promise<MembershipStatus>;
  };
}

/** The result of a successful store.watch ask: the revision the watch was opened at. */
export interface WatchOpened {
  /** The replica's revision when the watch was registered: with startRevision 0 the watch delivers from revision + 1. */
  readonly revision: number;
}

interface ServedWatch {
  readonly watchId: string;
  readonly target: ActorRef<WatcherMessage>;
  readonly handle: EngineWatch;
}

interface EndpointState {
  /** Keyed by target refKey, then by the client's watchId. */
  readonly watches: Map<string, Map<string, ServedWatch>>;
}

/** A validated operation, ready to run against the engine. */
type ValidOperation =
  | { readonly kind: 'range'; readonly request: RangeRequest; readonly serializable: boolean }
  | { readonly kind: 'write'; readonly body: CommandBody; readonly session?: ClientSession }
  | { readonly kind: 'timeToLive'; readonly id: number; readonly withKeys: boolean }
  | { readonly kind: 'status' }
  | { readonly kind: 'metrics' }
  | { readonly kind: 'membership' }
  | { readonly kind: 'changeMembership'; readonly change: MembershipChange };

export function endpointBehavior(options: EndpointOptions): Behavior<EndpointMessage, EndpointState> {
  const startList = new Map<number, NodeId>(options.replicas.map((replica) => [replica.id, replica.node]));
  const nodeOf = { get: (id: number): NodeId | undefined => options.addressOf?.(id) ?? startList.get(id) };
  const noMembership = (): Promise<never> => Promise.reject(new StoreError('INVALID_REQUEST', 'this replica does not serve membership operations', false));
  const engine = options.engine;

  const errorReply = (error: unknown): StoreReply => {
    if (error instanceof NotLeaderError) {
      const leaderNode = nodeOf.get(error.leader);
      return leaderNode === undefined
        ? { type: 'store.reply', ok: false, code: error.code, message: error.message }
        : { type: 'store.reply', ok: false, code: error.code, message: error.message, leaderNode };
    }
    if (error instanceof CompactedError) return { type: 'store.reply', ok: false, code: error.code, message: error.message, compactRevision: error.compactRevision };
    if (error instanceof FutureRevisionError) return { type: 'store.reply', ok: false, code: error.code, message: error.message, currentRevision: error.currentRevision };
    if (error instanceof StoreError) return { type: 'store.reply', ok: false, code: error.code, message: error.message };
    // Anything else is this replica's own trouble (e.g. closing): the client tries another replica.
    return { type: 'store.reply', ok: false, code: 'UNAVAILABLE', message: error instanceof Error ? error.message : String(error) };
  };

  const run = (operation: ValidOperation): Promise<unknown> => {
    switch (operation.kind) {
      case 'range':
        return engine.range(operation.request, { serializable: operation.serializable });
      case 'write':
        return engine.write(operation.body, operation.session).then(writeOutcome);
      case 'timeToLive':
        return engine.timeToLive(operation.id, operation.withKeys);
      case 'status':
        return Promise.resolve(engine.status());
      case 'metrics':
        return Promise.resolve(options.metrics?.() ?? '');
      case 'membership':
        return options.membership === undefined ? noMembership() : Promise.resolve(options.membership.membership());
      case 'changeMembership':
        return options.membership === undefined ? noMembership() : options.membership.changeMembership(operation.change);
    }
  };

  const handleRequest = (ctx: ActorContext<EndpointMessage>, message: StoreRequest): void => {
    const validated = validateOperation(message.op);
    if (validated instanceof StoreError) {
      reply(ctx, message.replyTo, { type: 'store.reply', ok: false, code: validated.code, message: validated.message });
      return;
    }
    let pending: Promise<unknown>;
    try {
      pending = run(validated);
    } catch (error) {
      pending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    pending.then(
      (result) => {
        try {
          ctx.tell(message.replyTo, { type: 'store.reply', ok: true, result });
        } catch (error) {
          // Typically a response over the frame limit: answer with why, rather than leave the client waiting.
          const reason = error instanceof Error ? error.message : String(error);
          reply(ctx, message.replyTo, { type: 'store.reply', ok: false, code: 'INVALID_REQUEST', message: `the response cannot be sent (${reason}); ask for less (limit)` });
        }
      },
      (error: unknown) => reply(ctx, message.replyTo, errorReply(error)),
    );
  };

  const handleWatch = (ctx: ActorContext<EndpointMessage>, state: EndpointState, message: StoreWatch): void => {
    const answer = (response: StoreReply): void => {
      if (message.replyTo !== undefined) reply(ctx, message.replyTo, response);
      else if (!response.ok) {
        const watchError: WatcherMessage =
          response.compactRevision === undefined
            ? { type: 'store.watchError', watchId: message.watchId, code: response.code, message: response.message }
            : { type: 'store.watchError', watchId: message.watchId, code: response.code, message: response.message, compactRevision: response.compactRevision };
        reply(ctx, message.target, watchError);
      }
    };
    const request = validateWatchRequest(message.request);
    if (request instanceof StoreError) {
      answer({ type: 'store.reply', ok: false, code: request.code, message: request.message });
      return;
    }
    const key = refKey(message.target);
    let byTarget = state.watches.get(key);
    if (byTarget?.has(message.watchId) === true) {
      answer({ type: 'store.reply', ok: false, code: 'INVALID_REQUEST', message: `watch ${message.watchId} is already open` });
      return;
    }
    const target = message.target;
    const watchId = message.watchId;
    let handle: EngineWatch;
    let revision: number;
    let ended = false;
    let seq = 0;
    const onBatch = (batch: WatchBatch): void => {
      if (ended) return;
      if (batch.canceled !== undefined) {
        ended = true;
        forget(ctx, state, key, watchId);
      }
      seq += 1;
      reply(ctx, target, { type: 'store.watchBatch', watchId, batch, seq });
    };
    try {
      revision = engine.status().revision;
      handle = engine.watch(request, onBatch);
    } catch (error) {
      answer(errorReply(error));
      return;
    }
    if (ended) {
      // Cancelled during registration: nothing to keep.
      answer({ type: 'store.reply', ok: true, result: { revision } satisfies WatchOpened });
      return;
    }
    if (byTarget === undefined) {
      byTarget = new Map();
      state.watches.set(key, byTarget);
      ctx.watch(target);
    }
    byTarget.set(watchId, {
      watchId,
      target,
      handle: {
        cancel: () => {
          ended = true;
          handle.cancel();
        },
      },
    });
    answer({ type: 'store.reply', ok: true, result: { revision } satisfies WatchOpened });
  };

  const handleUnwatch = (ctx: ActorContext<EndpointMessage>, state: EndpointState, message: StoreUnwatch): void => {
    const key = refKey(message.target);
    const served = state.watches.get(key)?.get(message.watchId);
    if (served === undefined) return;
    served.handle.cancel();
    forget(ctx, state, key, message.watchId);
  };

  return {
    start: () => ({ watches: new Map() }),
    receive(ctx, state, message) {
      if (isSignal(message)) {
        const key = refKey(message.ref);
        const byTarget = state.watches.get(key);
        if (byTarget !== undefined) {
          for (const served of byTarget.values()) served.handle.cancel();
          state.watches.delete(key);
          ctx.log.debug({ target: key, watches: byTarget.size, reason: message.reason }, 'watch target gone, watches cancelled');
        }
        return state;
      }
      switch (message.type) {
        case 'store.request':
          handleRequest(ctx, message);
          break;
        case 'store.watch':
          handleWatch(ctx, state, message);
          break;
        case 'store.unwatch':
          handleUnwatch(ctx, state, message);
          break;
        default:
          ctx.log.warn({ messageType: (message as { type?: unknown }).type }, 'endpoint ignores unknown message');
      }
      return state;
    },
    stop(ctx, state) {
      // The watch table dies with this actor (a restart starts empty): tell each client, which re-opens.
      for (const byTarget of state.watches.values()) {
        for (const served of byTarget.values()) {
          served.handle.cancel();
          reply(ctx, served.target, { type: 'store.watchError', watchId: served.watchId, code: 'UNAVAILABLE', message: 'the replica endpoint stopped' });
        }
      }
      state.watches.clear();
    },
  };
}

/** Drops a watch from the table (and the death watch of its target when it was the last one). */
function forget(ctx: ActorContext<EndpointMessage>, state: EndpointState, key: string, watchId: string): void {
  const byTarget = state.watches.get(key);
  if (byTarget === undefined) return;
  const served = byTarget.get(watchId);
  byTarget.delete(watchId);
  if (byTarget.size === 0) {
    state.watches.delete(key);
    if (served !== undefined) ctx.unwatch(served.target);
  }
}

/** A tell that never throws into the caller (a reply that cannot be encoded is logged and dropped). */
function reply<T>(ctx: ActorContext<EndpointMessage>, to: ActorRef<T>, message: T): void {
  try {
    ctx.tell(to, message);
  } catch (error) {
    ctx.log.warn({ err: error, to: to.node }, 'endpoint reply dropped');
  }
}

/** A write's ApplyResult: an error result becomes a thrown StoreError (it changed nothing). */
function writeOutcome(result: ApplyResult): ApplyResult {
  if (result.type === 'error') throw new StoreError(result.code, result.message, result.code === 'NO_SPACE');
  return result;
}

function validateOperation(op: StoreOperation): ValidOperation | StoreError {
  try {
    switch (op.kind) {
      case 'range':
        return { kind: 'range', request: validateRange(op.request), serializable: op.serializable === true };
      case 'write': {
        // validateCommand checks a whole command; the time is stamped by the engine, so 0 here.
        const command = validateCommand({ nowMs: 0, body: op.body, session: op.session });
        return command.session === undefined ? { kind: 'write', body: command.body } : { kind: 'write', body: command.body, session: command.session };
      }
      case 'timeToLive':
        return { kind: 'timeToLive', id: op.id, withKeys: op.withKeys };
      case 'status':
        return { kind: 'status' };
      case 'metrics':
        return { kind: 'metrics' };
      case 'membership':
        return { kind: 'membership' };
      case 'changeMembership':
        return { kind: 'changeMembership', change: validateMembershipChange(op.change) };
      default:
        return new StoreError('INVALID_REQUEST', `unknown operation ${String((op as { kind?: unknown }).kind)}`, false);
    }
  } catch (error) {
    const code: StoreErrorCode = op.kind === 'write' ? 'BAD_COMMAND' : 'INVALID_REQUEST';
    return new StoreError(code, error instanceof Error ? error.message : String(error), false);
  }
}

function validateWatchRequest(raw: WatchRequest): WatchRequest | StoreError {
  try {
    const range = validateRange({ key: raw.key, rangeEnd: raw.rangeEnd });
    const start = raw.startRevision;
    if (start !== undefined && !(Number.isSafeInteger(start) && start >= 0)) throw new Error('watch.startRevision must be a non-negative integer');
    if (raw.prevKv !== undefined && typeof raw.prevKv !== 'boolean') throw new Error('watch.prevKv must be a boolean');
    const request: { key: string; rangeEnd?: string; startRevision?: number; prevKv?: boolean } = { key: range.key };
    if (range.rangeEnd !== undefined) request.rangeEnd = range.rangeEnd;
    if (start !== undefined) request.startRevision = start;
    if (raw.prevKv !== undefined) request.prevKv = raw.prevKv;
    return request;
  } catch (error) {
    return new StoreError('INVALID_REQUEST', error instanceof Error ? error.message : String(error), false);
  }
}
