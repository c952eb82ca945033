// The seam under the components' API client: one request/response call and one watch call, in the
// shape of the API server's own pipeline (src/api/pipeline.ts handles exactly these requests).
//
// Implementations:
//   - LocalApiTransport (local-transport.ts): calls an in-process ApiHandler directly, as a given user.
//     Unit tests and the simulator run the real pipeline this way, with no network.
//   - ActorApiTransport (actor-transport.ts): the cluster's components reach the API server process's
//     endpoint actor (src/api/actor-face/) over the actor runtime, authenticated by their certificate.

export interface ApiCall {
  /** Upper-case HTTP method. */
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** e.g. /api/v1/namespaces/default/pods/web-1/status (not percent-decoded). */
  readonly path: string;
  /** The query string without '?', e.g. "labelSelector=app%3Dweb&limit=500". */
  readonly query?: string;
  /** Media type of `body` (application/json, application/merge-patch+json, …). */
  readonly contentType?: string;
  readonly body?: Uint8Array;
}

export interface ApiAnswer {
  readonly status: number;
  /** The decoded JSON body (an object or a Status). */
  readonly body: unknown;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WireWatchEvent {
  readonly type: WatchEventType;
  readonly object: { readonly [field: string]: unknown };
}

export interface WatchStream {
  /** Stops the watch; `ended` resolves soon after. */
  stop(): void;
  /** Resolves when the server ends the watch (timeout, 410 ERROR, server gone) or after stop(). */
  readonly ended: Promise<void>;
}

export interface ApiTransport {
  call(request: ApiCall): Promise<ApiAnswer>;
  /**
   * Opens a watch (the call's query must hold watch=1). Resolves once the server accepted it; a refusal
   * (4xx before streaming) rejects with the ApiClientError of its Status.
   */
  watch(request: ApiCall, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream>;
  close(): Promise<void>;
}
