// The API server's HTTPS front: TLS (≥ 1.2; a client certificate is optional but verified against
// the cluster CA when given), then limits (in-flight requests, body size), authentication (401;
// anonymous only on the public paths), a per-user watch limit (429), then the transport-free
// pipeline (pipeline.ts). Responses are JSON (or YAML when that is all the client accepts);
// watches stream newline-delimited JSON and are stopped when the client goes away. Every request
// is counted once, here (metrics.ts), and /metrics is answered here, after authentication and a
// non-resource authorization check.

import { createServer, type Server } from 'node:https';
import { performance } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { stringify as toYaml } from 'yaml';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import type { StoreClient } from '../store/client.js';
import type { Authenticator, Authorizer, UserInfo } from './auth-types.js';
import type { AdmissionCheck, ApiRequest, ApiResponse, TableConverter, TextSink } from './handlers/types.js';
import type { RunningWatch } from './storage/watch.js';
import type { PodLogReader } from './handlers/logs.js';
import type { NodeStatsReader } from './handlers/metrics.js';
import { PUBLIC_PATHS, createApiHandler, statusResponse, type ApiHandler } from './pipeline.js';
import { ApiError, errors } from './status.js';
import { isWatchRequested } from './request-info.js';
import { startRbacSync, type RbacCacheSink } from './rbac-sync.js';
import type { JsonObject } from './registry/types.js';
import type { SigningKeyPair } from './auth/jwt.js';
import { ApiMetrics, METRICS_CONTENT_TYPE, METRICS_PATH, type RequestObservation } from './metrics.js';
import { SYSTEM_PRIORITY_CLASSES } from './registry/scheduling.js';

export interface ServerLimits {
  /** Largest request body; past it 413 (kube-apiserver: 3 MiB). */
  readonly maxBodyBytes: number;
  /** Concurrent non-watch requests; past it 429 with Retry-After: 1. */
  readonly maxInFlight: number;
  /** Concurrent watches (counted apart: they are long-running). */
  readonly maxWatches: number;
  /** Concurrent watches per authenticated user name; past it that user's next watch gets 429 with Retry-After. */
  readonly maxWatchesPerUser: number;
}

export const DEFAULT_LIMITS: ServerLimits = { maxBodyBytes: 3 * 1024 * 1024, maxInFlight: 400, maxWatches: 10_000, maxWatchesPerUser: 1_000 };
/** A body this far past the limit is not drained any more: the connection is cut. */
export const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
/**
 * Watch events buffered for a client that does not read; past it the watch is stopped and the
 * connection cut (the client re-watches from its last resourceVersion, as after any stream end).
 */
export const MAX_WATCH_BUFFER_BYTES = 16 * 1024 * 1024;

export interface ApiServerOptions {
  readonly store: StoreClient;
  readonly tls: { readonly key: string | Buffer; readonly cert: string | Buffer; readonly ca?: string | Buffer };
  readonly host: string;
  readonly port: number;
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  readonly limits?: Partial<ServerLimits>;
  readonly admission?: readonly AdmissionCheck[];
  readonly clock?: Clock;
  readonly bookmarkIntervalMs?: number;
  readonly tableConverter?: TableConverter;
  readonly log?: Logger;
  /** Objects created at start when missing (the bootstrap RBAC policy from auth/bootstrap-policy.ts). */
  readonly bootstrapObjects?: readonly JsonObject[];
  /** The RBAC authorizer's cache, kept current from the store while the server runs. */
  readonly rbacCache?: RbacCacheSink;
  /** Where requests and store calls are counted (default: a new ApiMetrics on performance.now). */
  readonly metrics?: ApiMetrics;
  /** How pods/log reaches node agents (api/main.ts: over the actor transport). */
  readonly podLogs?: PodLogReader;
  /** How metrics.k8s.io reaches node agents (kubectl top); absent: 503. */
  readonly nodeStats?: NodeStatsReader;
  /** The service account token key pair (the cluster's pki/sa.key, sa.pub); absent: one made in memory. */
  readonly serviceAccountKeys?: SigningKeyPair;
}

export interface ApiServer {
  readonly url: string;
  readonly handler: ApiHandler;
  readonly metrics: ApiMetrics;
  close(): Promise<void>;
}

const ANONYMOUS: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

type BodyResult = { readonly kind: 'ok'; readonly body: Uint8Array | undefined } | { readonly kind: 'tooLarge' } | { readonly kind: 'aborted' };

/** Read the body, counting bytes; past the limit keep draining (so the client reads our 413) up to MAX_DRAIN_BYTES. */
function readBody(request: IncomingMessage, maxBytes: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        tooLarge = true;
        chunks.length = 0;
        if (size > MAX_DRAIN_BYTES) {
          request.destroy();
          resolve({ kind: 'tooLarge' });
        }
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? { kind: 'tooLarge' } : { kind: 'ok', body: size === 0 ? undefined : Buffer.concat(chunks) }));
    request.on('error', () => resolve({ kind: 'aborted' }));
    request.on('close', () => resolve(tooLarge ? { kind: 'tooLarge' } : { kind: 'aborted' }));
  });
}

/** The request target as a URL (undefined when it does not parse). */
function parseRequestUrl(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'https://localhost');
  } catch {
    return undefined;
  }
}

type OutputFormat = 'json' | 'yaml';

/** JSON unless the client accepts only YAML; undefined when it accepts neither. */
export function negotiateOutput(accept: string | undefined): OutputFormat | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  let yaml = false;
  for (const entry of accept.split(',')) {
    const type = entry.split(';')[0]?.trim().toLowerCase() ?? '';
    if (type === 'application/json' || type === '*/*' || type === 'application/*') return 'json';
    if (type === 'application/yaml') yaml = true;
  }
  return yaml ? 'yaml' : undefined;
}

function send(response: ServerResponse, result: ApiResponse, format: OutputFormat): void {
  if ('watch' in result) throw new Error('send() called with a watch response');
  const headers: Record<string, string> = { ...(result.headers ?? {}) };
  let payload: string;
  if ('text' in result) payload = result.text;
  else if (format === 'yaml' && headers['content-type'] === undefined) {
    payload = toYaml(result.body);
    headers['content-type'] = 'application/yaml';
  } else {
    payload = JSON.stringify(result.body);
    headers['content-type'] ??= 'application/json';
  }
  headers['content-length'] = String(Buffer.byteLength(payload));
  response.writeHead(result.status, headers);
  response.end(payload);
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const metrics = options.metrics ?? new ApiMetrics({ nowMs: () => performance.now() });
  const handler = createApiHandler({
    store: metrics.instrumentStore(options.store),
    authorizer: options.authorizer,
    ...(options.admission === undefined ? {} : { admission: options.admission }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.bookmarkIntervalMs === undefined ? {} : { bookmarkIntervalMs: options.bookmarkIntervalMs }),
    ...(options.tableConverter === undefined ? {} : { tableConverter: options.tableConverter }),
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.podLogs === undefined ? {} : { podLogs: options.podLogs }),
    ...(options.nodeStats === undefined ? {} : { nodeStats: options.nodeStats }),
    serverAddress: `${options.host}:${options.port}`,
    authenticator: options.authenticator,
    ...(options.serviceAccountKeys === undefined ? {} : { serviceAccountKeys: options.serviceAccountKeys }),
  });
  await handler.ensureSystemNamespaces();
  // The built-in PriorityClasses (system-node-critical, system-cluster-critical), like kube-apiserver's.
  await handler.ensureObjects(SYSTEM_PRIORITY_CLASSES);
  if (options.bootstrapObjects !== undefined) await handler.ensureObjects(options.bootstrapObjects);
  const rbacSync = options.rbacCache === undefined ? undefined : startRbacSync(handler.objects, handler.registry, options.rbacCache, options.clock);
  await rbacSync?.synced;
  let inFlight = 0;
  let watches = 0;
  /** Open watches by user name, for maxWatchesPerUser (an entry goes when its count drops to 0). */
  const watchesByUser = new Map<string, number>();
  const log = options.log;

  const server: Server = createServer(
    {
      key: options.tls.key,
      cert: options.tls.cert,
      ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca }),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    (request, response) => {
      const url = parseRequestUrl(request.url);
      const observation = metrics.startRequest(request.method ?? 'GET', url?.pathname ?? '', url?.searchParams ?? new URLSearchParams());
      response.on('close', () => observation.finish(response.headersSent ? response.statusCode : 0));
      if (url === undefined) {
        request.resume();
        send(response, statusResponse(errors.badRequest('the request URL is not valid')), 'json');
        return;
      }
      void serve(request, response, url, observation).catch((error: unknown) => {
        log?.error({ err: error }, 'unhandled request failure');
        if (!response.headersSent) send(response, statusResponse(errors.internal('unexpected failure')), 'json');
        else response.destroy();
      });
    },
  );

  async function serve(request: IncomingMessage, response: ServerResponse, url: URL, observation: RequestObservation): Promise<void> {
    const method = (request.method ?? 'GET').toUpperCase();
    const format = negotiateOutput(request.headers.accept);
    const isWatch = method === 'GET' && isWatchRequested(url.searchParams);
    const fail = (error: ApiError): void => {
      request.resume();
      send(response, statusResponse(error), format ?? 'json');
    };

    // 1. limits
    if (isWatch ? watches >= limits.maxWatches : inFlight >= limits.maxInFlight) {
      fail(errors.tooManyRequests());
      return;
    }
    if (isWatch) watches++;
    else inFlight++;
    let counted = true;
    let watchingUser: string | undefined;
    const release = (): void => {
      if (watchingUser !== undefined) {
        const left = (watchesByUser.get(watchingUser) ?? 1) - 1;
        if (left > 0) watchesByUser.set(watchingUser, left);
        else watchesByUser.delete(watchingUser);
        watchingUser = undefined;
      }
      if (!counted) return;
      counted = false;
      if (isWatch) watches--;
      else inFlight--;
    };
    response.on('close', release);
    try {
      const body = await readBody(request, limits.maxBodyBytes);
      if (body.kind === 'aborted') return;
      if (body.kind === 'tooLarge') {
        fail(errors.tooLarge(`the request body is larger than ${limits.maxBodyBytes} bytes`));
        return;
      }

      // 2. authentication
      const socket = request.socket as TLSSocket;
      const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
      const hasCertificate = peer !== undefined && Object.keys(peer).length > 0;
      if (hasCertificate && !socket.authorized) {
        fail(errors.unauthorized());
        return;
      }
      let user: UserInfo;
      const outcome = await handler.authenticate({ headers: request.headers, ...(hasCertificate ? { clientCertificate: peer } : {}) });
      if (outcome.kind === 'rejected') {
        log?.debug({ reason: outcome.reason }, 'authentication rejected');
        fail(errors.unauthorized());
        return;
      }
      if (outcome.kind === 'anonymous') {
        if (!PUBLIC_PATHS.has(url.pathname)) {
          fail(errors.unauthorized());
          return;
        }
        user = ANONYMOUS;
      } else user = outcome.user;
      if (isWatch) {
        const open = watchesByUser.get(user.name) ?? 0;
        if (open >= limits.maxWatchesPerUser) {
          fail(errors.tooManyRequests(`too many watches open for user "${user.name}" (limit ${limits.maxWatchesPerUser})`));
          return;
        }
        if (!response.destroyed) {
          watchesByUser.set(user.name, open + 1);
          watchingUser = user.name;
        }
      }
      if (url.pathname === METRICS_PATH) {
        serveMetrics(request, response, method, user);
        return;
      }
      if (format === undefined) {
        fail(errors.notAcceptable(request.headers.accept ?? ''));
        return;
      }

      // 3. the pipeline
      const headers: Record<string, string | undefined> = {};
      for (const [name, value] of Object.entries(request.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      const apiRequest: ApiRequest = { method, path: url.pathname, query: url.searchParams, headers, user, ...(body.body === undefined ? {} : { body: body.body }) };
      const result = await handler.handle(apiRequest);
      if ('text' in result && result.follow !== undefined) {
        streamText(response, result, result.follow);
        return;
      }
      if (!('watch' in result)) {
        send(response, result, format);
        return;
      }
      await streamWatch(response, result, observation);
    } finally {
      if (!isWatch) release();
    }
  }

  /** /metrics: any Accept (scrapers send text/plain), non-resource RBAC (`get` on "/metrics"). */
  function serveMetrics(request: IncomingMessage, response: ServerResponse, method: string, user: UserInfo): void {
    const verb = method.toLowerCase();
    const decision = options.authorizer.authorize({ kind: 'nonResource', user, verb, path: METRICS_PATH });
    request.resume();
    if (!decision.allowed) {
      const reason = decision.reason === '' ? '' : `: ${decision.reason}`;
      send(response, statusResponse(errors.forbidden(`forbidden: User "${user.name}" cannot ${verb} path "${METRICS_PATH}"${reason}`)), 'json');
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      send(response, statusResponse(errors.methodNotAllowed()), 'json');
      return;
    }
    send(response, { status: 200, headers: { 'content-type': METRICS_CONTENT_TYPE }, text: metrics.render() }, 'json');
  }

  /** A followed text response (pods/log?follow=true): the text so far, then each piece as it comes, until either side ends. */
  function streamText(response: ServerResponse, result: { readonly status: number; readonly headers?: Record<string, string>; readonly text: string }, follow: (sink: TextSink) => RunningWatch): void {
    let ended = false;
    response.writeHead(result.status, { ...(result.headers ?? {}), 'cache-control': 'no-cache, private' });
    if (result.text !== '') response.write(result.text);
    response.flushHeaders();
    const running = follow({
      write: (text) => {
        if (ended) return;
        response.write(text);
        if (response.writableLength > MAX_WATCH_BUFFER_BYTES) {
          ended = true;
          running.stop();
          response.destroy();
        }
      },
      end: () => {
        if (ended) return;
        ended = true;
        response.end();
      },
    });
    // The response's close means the client left (or the stream ended): stop pulling.
    response.on('close', () => {
      ended = true;
      running.stop();
    });
    if (response.destroyed) running.stop();
  }

  async function streamWatch(response: ServerResponse, result: Extract<ApiResponse, { watch: unknown }>, observation: RequestObservation): Promise<void> {
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      response.end();
    };
    let running: { stop(): void } | undefined;
    let started = false;
    const startHeaders = (): void => {
      if (started) return;
      started = true;
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
      response.flushHeaders();
    };
    // The response's close (not the request's, which fires once the body is read) means the client left.
    response.on('close', () => {
      running?.stop();
      end();
    });
    try {
      const watch = await result.watch({
        event: (event) => {
          if (ended) return;
          startHeaders();
          observation.watchEvent();
          response.write(`${JSON.stringify(event)}\n`);
          if (response.writableLength > MAX_WATCH_BUFFER_BYTES) {
            log?.warn({ bufferedBytes: response.writableLength }, 'watch client too slow, closing its stream');
            ended = true;
            running?.stop();
            response.destroy();
          }
        },
        end: () => {
          startHeaders();
          end();
        },
      });
      running = watch;
      if (ended || response.destroyed) watch.stop();
      else startHeaders();
    } catch (error) {
      const apiError = error instanceof ApiError ? error : errors.internal(error instanceof Error ? error.message : String(error));
      if (!started) send(response, statusResponse(apiError), 'json');
      else {
        response.write(`${JSON.stringify({ type: 'ERROR', object: apiError.toStatus() })}\n`);
        end();
      }
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `https://${host}:${address.port}`,
    handler,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        rbacSync?.stop();
        handler.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
