// ActorApiTransport: the components' ApiTransport over the actor runtime, to the API server's endpoint
// actor (src/api/actor-face/). The component's process is authenticated by the transport (its
// cluster-CA certificate: CN = user, O = groups), so nothing here carries credentials.
//
//   - call: an ask of api.call with a timeout (AskTimeoutError when the API server does not answer).
//   - watch: one watcher actor per transport receives the messages of all its watches. A watch is
//     accepted with api.watchStarted (initial ADDED events may come before it), refused or ended with
//     api.watchEnd. Events carry consecutive seq numbers: a gap (a message lost on the way, the actor
//     transport being at-most-once) ends the watch, so the informer resumes from the last
//     resourceVersion it saw instead of silently missing an event. The watcher death-watches the
//     endpoint: when the API server process stops or becomes unreachable, every watch ends.
//   - Watch messages are accepted only from the endpoint's own process.

import type { Logger } from 'pino';
import type { ActorRef, ActorSystem, Behavior, Clock, NodeId, TimerHandle } from '../actors/index.js';
import { isSignal, remoteSenderOf, silentLogger } from '../actors/index.js';
import {
  API_ENDPOINT_PATH,
  isApiReply,
  type ApiCallMessage,
  type ApiEndpointMessage,
  type ApiReplyMessage,
  type ApiWatcherMessage,
  type ApiWatchEndMessage,
  type ApiWatchEventMessage,
} from '../api/actor-face/protocol.js';
import { ApiClientError } from './errors.js';
import type { ApiAnswer, ApiCall, ApiTransport, WatchStream, WireWatchEvent } from './transport.js';

export const CALL_TIMEOUT_MS_DEFAULT = 60_000;
export const WATCH_OPEN_TIMEOUT_MS_DEFAULT = 60_000;
export const WATCHER_NAME_DEFAULT = 'api-watches';
/** The watcher actor's mailbox: events of every watch of this transport queue here. */
export const WATCHER_MAILBOX_CAPACITY = 100_000;

export interface ActorApiTransportOptions {
  readonly system: ActorSystem;
  /** The API server process (its endpoint actor is at API_ENDPOINT_PATH), or the endpoint's ref. */
  readonly endpoint: NodeId | ActorRef<ApiEndpointMessage>;
  readonly clock: Clock;
  readonly log?: Logger;
  readonly callTimeoutMs?: number;
  /** How long a watch may take to be accepted or refused. */
  readonly watchOpenTimeoutMs?: number;
  /** The watcher actor's name, unique in the system (default WATCHER_NAME_DEFAULT). */
  readonly watcherName?: string;
}

interface ClientWatch {
  readonly watchId: string;
  readonly onEvent: (event: WireWatchEvent) => void;
  phase: 'opening' | 'running' | 'ended';
  nextSeq: number;
  readonly accept: () => void;
  readonly refuse: (error: Error) => void;
  readonly finish: () => void;
  openTimer: TimerHandle | undefined;
}

const decoder = new TextDecoder();

/** A JSON body as its value; a text one (e.g. /readyz) as a Status carrying the text, as LocalApiTransport does. */
function decodeBody(body: Uint8Array): unknown {
  const text = decoder.decode(body);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { kind: 'Status', status: 'Failure', message: text };
  }
}

export class ActorApiTransport implements ApiTransport {
  private readonly system: ActorSystem;
  private readonly endpoint: ActorRef<ApiEndpointMessage>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly callTimeoutMs: number;
  private readonly watchOpenTimeoutMs: number;
  private readonly watcher: ActorRef<ApiWatcherMessage>;
  private readonly watches = new Map<string, ClientWatch>();
  private nextCallId = 0;
  private nextWatchId = 0;
  private closed = false;

  constructor(options: ActorApiTransportOptions) {
    this.system = options.system;
    this.endpoint = typeof options.endpoint === 'string' ? options.system.refFor<ApiEndpointMessage>(options.endpoint, API_ENDPOINT_PATH) : options.endpoint;
    this.clock = options.clock;
    this.log = options.log ?? silentLogger();
    this.callTimeoutMs = options.callTimeoutMs ?? CALL_TIMEOUT_MS_DEFAULT;
    this.watchOpenTimeoutMs = options.watchOpenTimeoutMs ?? WATCH_OPEN_TIMEOUT_MS_DEFAULT;
    if (!(this.callTimeoutMs > 0 && this.watchOpenTimeoutMs > 0)) throw new RangeError('ActorApiTransport: callTimeoutMs and watchOpenTimeoutMs must be positive');
    this.watcher = this.system.spawn(this.watcherBehavior(), { name: options.watcherName ?? WATCHER_NAME_DEFAULT, mailboxCapacity: WATCHER_MAILBOX_CAPACITY });
  }

  async call(request: ApiCall): Promise<ApiAnswer> {
    if (this.closed) throw new Error('the API transport is closed');
    const callId = String(++this.nextCallId);
    // The reply skipped the protocol check (ask replies do): check its shape before trusting it.
    const reply: unknown = await this.system.ask<ApiEndpointMessage, ApiReplyMessage>(
      this.endpoint,
      (replyTo): ApiCallMessage => ({
        type: 'api.call',
        callId,
        method: request.method,
        path: request.path,
        query: request.query ?? '',
        ...(request.contentType === undefined ? {} : { contentType: request.contentType }),
        ...(request.body === undefined ? {} : { body: request.body }),
        replyTo,
      }),
      this.callTimeoutMs,
    );
    if (!isApiReply(reply)) throw new Error('the API server sent a malformed reply');
    return { status: reply.status, body: decodeBody(reply.body) };
  }

  watch(request: ApiCall, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream> {
    if (this.closed) return Promise.reject(new Error('the API transport is closed'));
    if (request.method !== 'GET') return Promise.reject(new TypeError('a watch is a GET'));
    const watchId = String(++this.nextWatchId);
    let finish: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (finish = resolve));
    return new Promise<WatchStream>((resolve, reject) => {
      const stream: WatchStream = { stop: () => this.stopWatch(watchId, true), ended };
      const watch: ClientWatch = {
        watchId,
        onEvent,
        phase: 'opening',
        nextSeq: 1,
        accept: () => resolve(stream),
        refuse: reject,
        finish,
        openTimer: undefined,
      };
      this.watches.set(watchId, watch);
      watch.openTimer = this.clock.setTimer(this.watchOpenTimeoutMs, () => {
        watch.openTimer = undefined;
        if (watch.phase === 'opening') this.endWatch(watch, { unwatch: true, error: new Error(`the API server did not accept the watch within ${this.watchOpenTimeoutMs} ms`) });
      });
      try {
        // Death watch first: if the API server is gone, Terminated ends this watch.
        this.system.watch(this.watcher, this.endpoint);
        this.system.tell(this.endpoint, { type: 'api.watch', watchId, method: 'GET', path: request.path, query: request.query ?? '', target: this.watcher });
      } catch (error) {
        this.endWatch(watch, { unwatch: false, error: error instanceof Error ? error : new Error(String(error)) });
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watchId of [...this.watches.keys()]) this.stopWatch(watchId, true);
    await this.system.stop(this.watcher);
  }

  private stopWatch(watchId: string, unwatch: boolean): void {
    const watch = this.watches.get(watchId);
    if (watch !== undefined) this.endWatch(watch, { unwatch, error: new Error('the watch was stopped before it started') });
  }

  /** Ends a watch once: an opening one is refused with `error`, a running one's `ended` resolves. */
  private endWatch(watch: ClientWatch, how: { readonly unwatch: boolean; readonly error: Error }): void {
    if (watch.phase === 'ended') return;
    const wasOpening = watch.phase === 'opening';
    watch.phase = 'ended';
    this.watches.delete(watch.watchId);
    if (watch.openTimer !== undefined) this.clock.cancelTimer(watch.openTimer);
    watch.openTimer = undefined;
    if (how.unwatch) {
      try {
        this.system.tell(this.endpoint, { type: 'api.unwatch', watchId: watch.watchId, target: this.watcher });
      } catch (error) {
        this.log.debug({ err: error }, 'api.unwatch could not be sent');
      }
    }
    if (wasOpening) watch.refuse(how.error);
    watch.finish();
  }

  private onWatchEvent(message: ApiWatchEventMessage): void {
    const watch = this.watches.get(message.watchId);
    if (watch === undefined) return; // stopped meanwhile
    if (message.seq !== watch.nextSeq) {
      this.log.debug({ watchId: message.watchId, expected: watch.nextSeq, got: message.seq }, 'watch events lost on the way; ending the watch');
      this.endWatch(watch, { unwatch: true, error: new Error('watch events were lost before the watch started') });
      return;
    }
    watch.nextSeq++;
    let object: unknown;
    try {
      object = JSON.parse(decoder.decode(message.event.object)) as unknown;
    } catch {
      this.endWatch(watch, { unwatch: true, error: new Error('the API server sent an undecodable watch event') });
      return;
    }
    if (typeof object !== 'object' || object === null || Array.isArray(object)) {
      this.endWatch(watch, { unwatch: true, error: new Error('the API server sent a watch event without an object') });
      return;
    }
    try {
      watch.onEvent({ type: message.event.type, object: object as WireWatchEvent['object'] });
    } catch (error) {
      this.log.error({ err: error, watchId: message.watchId }, 'watch event handler threw');
    }
  }

  private onWatchEnd(message: ApiWatchEndMessage): void {
    const watch = this.watches.get(message.watchId);
    if (watch === undefined) return;
    const body = message.body === undefined ? undefined : decodeBody(message.body);
    const error = message.status === undefined ? new Error('the watch ended before it started') : new ApiClientError(message.status, body);
    if (watch.phase === 'opening' && message.status === undefined) {
      // Ended right after its initial events (e.g. a 410 ERROR event): accepted, then over.
      watch.phase = 'running';
      watch.accept();
    }
    this.endWatch(watch, { unwatch: false, error });
  }

  private watcherBehavior(): Behavior<ApiWatcherMessage, void> {
    return {
      start: () => undefined,
      receive: (_ctx, _state, message) => {
        if (isSignal(message)) {
          if (message.ref.node !== this.endpoint.node || message.ref.path !== this.endpoint.path) return;
          this.log.debug({ reason: message.reason, watches: this.watches.size }, 'API server endpoint gone; ending its watches');
          for (const watch of [...this.watches.values()]) this.endWatch(watch, { unwatch: false, error: new Error(`the API server endpoint is gone (${message.reason})`) });
          return;
        }
        const sender = remoteSenderOf(message);
        const fromEndpoint = sender === undefined ? this.endpoint.node === this.system.address.node : sender.node === this.endpoint.node;
        if (!fromEndpoint) {
          this.log.warn({ peer: sender?.node, messageType: message.type }, 'watch message not from the API server endpoint, dropped');
          return;
        }
        switch (message.type) {
          case 'api.watchStarted': {
            const watch = this.watches.get(message.watchId);
            if (watch?.phase === 'opening') {
              watch.phase = 'running';
              if (watch.openTimer !== undefined) this.clock.cancelTimer(watch.openTimer);
              watch.openTimer = undefined;
              watch.accept();
            }
            return;
          }
          case 'api.watchEvent':
            this.onWatchEvent(message);
            return;
          case 'api.watchEnd':
            this.onWatchEnd(message);
            return;
        }
      },
    };
  }
}
