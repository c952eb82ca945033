// The shared bootstrap of the cluster's component processes (scheduler, node agents, controller
// manager): what each of them does the same way around its own actors.
//
//   - Arguments every component takes (--dir, --name, --api-server, --log-level) and pino logging to
//     stdout (the launcher sends stdout to the process's log file).
//   - An API connection: a dial-only WsTransport with mutual TLS (a cluster-CA client certificate whose
//     subject, CN = user and O = groups, is who the API server lets it act as), an actor system that
//     accepts the API client protocol, and an ApiClient over ActorApiTransport to the API server's
//     endpoint actor. A process may hold several connections (one per identity: decision 0007).
//   - `waitForApi`: retries until the API server answers /readyz (it may start later or restart).
//   - `runComponentProcess`: ready over IPC (`kplane.ready`) once the component has started, and an
//     orderly stop on SIGTERM, SIGINT or the loss of the launcher's IPC channel, bounded in time.
//
// This is the driver side of a component: the only place its process touches the network setup and
// signals. The actors inside get their clock and randomness from the actor system, as in tests.

import { parseArgs } from 'node:util';
import hyperid from 'hyperid';
import type { Logger } from 'pino';
import { createActorSystem, createLogger, Prng, systemClock, type ActorSystem, type Clock, type MessageProtocol, type NodeId, type SystemOptions } from '../actors/index.js';
import { WsTransport } from '../actors/ws-transport.js';
import { API_CLIENT_PROTOCOL, mergeProtocols } from '../api/actor-face/protocol.js';
import { ActorApiTransport, ApiClient } from '../client/index.js';
import type { KeyAndCertificate } from './pki.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** An API call from a component waits this long for its answer (a restarting API server is retried by the caller). */
export const COMPONENT_CALL_TIMEOUT_MS = 30_000;
/** How long an orderly stop may take before the process exits anyway (below the launcher's 5 s SIGKILL). */
export const COMPONENT_STOP_TIMEOUT_MS = 4_000;
/** waitForApi's backoff between attempts: from the minimum, doubling to the maximum. */
export const API_RETRY_BACKOFF_MIN_MS = 100;
export const API_RETRY_BACKOFF_MAX_MS = 2_000;
/** One readiness probe waits this long for its answer. */
export const API_PROBE_TIMEOUT_MS = 3_000;
/** Dialling the API server again after a lost connection (the transport's reconnect backoff). */
const RECONNECT_BACKOFF_MIN_MS = 100;
const RECONNECT_BACKOFF_MAX_MS = 2_000;

/** The parseArgs options every component process takes; a component spreads them into its own. */
export const COMPONENT_ARG_OPTIONS = {
  dir: { type: 'string' },
  name: { type: 'string' },
  'api-server': { type: 'string' },
  'log-level': { type: 'string', default: 'info' },
} as const;

export interface ComponentArgs {
  /** The cluster directory (pki/ and the process folders). */
  readonly dir: string;
  /** The process name (the launcher's), also its log's node field. */
  readonly name: string;
  /** The API server's actor node id, `apiserver-1@127.0.0.1:7201`. */
  readonly apiServer: NodeId;
  readonly logLevel: LogLevel;
}

export class ComponentArgsError extends Error {
  readonly code = 'COMPONENT_ARGS_INVALID';
  readonly retryable = false;
  constructor(component: string, problem: string) {
    super(`${component}: ${problem}`);
    this.name = 'ComponentArgsError';
  }
}

/** Parses a component's argv: the common options plus `extra`; throws ComponentArgsError naming the problem. */
export function parseComponentArgs<const Extra extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(
  component: string,
  argv: readonly string[],
  extra: Extra,
): { readonly common: ComponentArgs; readonly values: Record<string, string | boolean | undefined> } {
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: { ...COMPONENT_ARG_OPTIONS, ...extra }, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ComponentArgsError(component, error instanceof Error ? error.message : String(error));
  }
  const text = (option: string): string => {
    const value = values[option];
    if (typeof value !== 'string' || value === '') throw new ComponentArgsError(component, `--${option} is required`);
    return value;
  };
  const logLevel = text('log-level');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) throw new ComponentArgsError(component, `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const flat: Record<string, string | boolean | undefined> = {};
  for (const [key, value] of Object.entries(values)) flat[key] = Array.isArray(value) ? value[value.length - 1] : value;
  return { common: { dir: text('dir'), name: text('name'), apiServer: text('api-server'), logLevel: logLevel as LogLevel }, values: flat };
}

/** A positive integer option (`--shards 2`), or the ComponentArgsError that names it. */
export function integerOption(component: string, values: Record<string, string | boolean | undefined>, option: string, min: number): number {
  const raw = values[option];
  const value = typeof raw === 'string' ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < min) throw new ComponentArgsError(component, `--${option} must be an integer of at least ${min}, got ${JSON.stringify(raw)}`);
  return value;
}

export interface ApiConnectionOptions {
  /** This connection's actor node id: a plain name (dial-only), unique among the API server's peers. */
  readonly node: string;
  readonly apiServer: NodeId;
  /** The cluster CA (PEM): the API server's certificate must be signed by it. */
  readonly caCert: string;
  /** The identity this connection acts as. */
  readonly certificate: KeyAndCertificate;
  readonly log: Logger;
  readonly clock?: Clock;
  readonly callTimeoutMs?: number;
  readonly systemOptions?: SystemOptions;
  /** Messages this connection's actors accept from the API server besides the API client ones (node agents: pods/log reads). */
  readonly extraProtocol?: MessageProtocol;
}

/** One authenticated way to the API server: its transport, actor system and client. */
export interface ApiConnection {
  readonly node: string;
  readonly system: ActorSystem;
  readonly transport: WsTransport;
  readonly api: ActorApiTransport;
  readonly client: ApiClient;
  /** Stops the actors of this connection's system, then the client and the transport. */
  close(): Promise<void>;
}

const newIncarnation = hyperid();

/** Builds a connection. The transport dials lazily (and again after a loss): nothing waits here. */
export async function connectToApi(options: ApiConnectionOptions): Promise<ApiConnection> {
  const clock = options.clock ?? systemClock;
  const log = options.log.child({ connection: options.node });
  const transport = new WsTransport({
    node: options.node,
    incarnation: newIncarnation(),
    tls: { ca: options.caCert, cert: options.certificate.cert, key: options.certificate.key },
    log: log.child({ component: 'actor-transport' }),
    clock,
    reconnectBackoffMinMs: RECONNECT_BACKOFF_MIN_MS,
    reconnectBackoffMaxMs: RECONNECT_BACKOFF_MAX_MS,
  });
  await transport.start();
  const system = createActorSystem(
    {
      node: transport.local.node,
      incarnation: transport.local.incarnation,
      clock,
      random: new Prng(clock.now()),
      log,
      transport,
      protocol: options.extraProtocol === undefined ? API_CLIENT_PROTOCOL : mergeProtocols(API_CLIENT_PROTOCOL, options.extraProtocol),
    },
    options.systemOptions ?? {},
  );
  const api = new ActorApiTransport({
    system,
    endpoint: options.apiServer,
    clock,
    log: log.child({ component: 'api-client' }),
    callTimeoutMs: options.callTimeoutMs ?? COMPONENT_CALL_TIMEOUT_MS,
  });
  const client = new ApiClient(api);
  let closing: Promise<void> | undefined;
  return {
    node: options.node,
    system,
    transport,
    api,
    client,
    close() {
      closing ??= (async () => {
        await system.terminate();
        await client.close();
        await transport.close();
      })();
      return closing;
    },
  };
}

export interface WaitForApiOptions {
  readonly log: Logger;
  readonly clock?: Clock;
  /** Gives up (rejects) when this returns true, e.g. once the process is stopping. */
  readonly cancelled?: () => boolean;
}

/**
 * Resolves once the API server answers GET /readyz with 200 over this connection; until then it
 * retries with backoff (the API server may not be up yet, or may be restarting). Logs the first
 * failure and then every tenth, so a long wait is visible without flooding the log.
 */
export async function waitForApi(connection: ApiConnection, options: WaitForApiOptions): Promise<void> {
  const clock = options.clock ?? systemClock;
  let backoffMs = API_RETRY_BACKOFF_MIN_MS;
  for (let attempt = 1; ; attempt++) {
    if (options.cancelled?.() === true) throw new Error('stopped while waiting for the API server');
    let problem: string;
    try {
      const answer = await withTimeout(connection.api.call({ method: 'GET', path: '/readyz' }), API_PROBE_TIMEOUT_MS, clock);
      if (answer.status === 200) {
        options.log.info({ attempts: attempt }, 'API server answered');
        return;
      }
      problem = `status ${answer.status}`;
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
    if (options.cancelled?.() === true) throw new Error('stopped while waiting for the API server');
    if (attempt === 1 || attempt % 10 === 0) options.log.warn({ attempt, problem, retryInMs: backoffMs }, 'API server not answering yet; retrying');
    await sleep(clock, backoffMs);
    backoffMs = Math.min(backoffMs * 2, API_RETRY_BACKOFF_MAX_MS);
  }
}

function sleep(clock: Clock, delayMs: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(delayMs, resolve));
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, clock: Clock): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(timeoutMs, () => reject(new Error(`no answer within ${timeoutMs} ms`)));
    promise.then(
      (value) => {
        clock.cancelTimer(timer);
        resolve(value);
      },
      (error: unknown) => {
        clock.cancelTimer(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** What a component's start gives back: how to stop it in order. */
export interface StartedComponent {
  stop(): Promise<void>;
}

export interface ComponentContext {
  readonly args: ComponentArgs;
  readonly values: Record<string, string | boolean | undefined>;
  readonly log: Logger;
  /** True once a stop was asked for (a start still in progress should give up). */
  stopping(): boolean;
}

/**
 * The main of a component process: parse the arguments, log to stdout, start the component, tell the
 * launcher it is ready, and stop in order on SIGTERM, SIGINT or the launcher's disappearance. A start
 * that fails exits 1 (the launcher restarts the process with backoff); a stop that hangs exits after
 * COMPONENT_STOP_TIMEOUT_MS.
 */
export function runComponentProcess(
  component: string,
  extraOptions: NonNullable<Parameters<typeof parseArgs>[0]>['options'],
  start: (context: ComponentContext) => Promise<StartedComponent>,
): void {
  let context: ComponentContext;
  try {
    const parsed = parseComponentArgs(component, process.argv.slice(2), extraOptions);
    const log = createLogger({ node: parsed.common.name, level: parsed.common.logLevel }).child({ component });
    context = { args: parsed.common, values: parsed.values, log, stopping: () => stopRequested };
  } catch (error) {
    process.stderr.write(`${JSON.stringify({ level: 60, msg: `${component} failed to start`, err: String(error) })}\n`);
    process.exit(1);
  }
  const { log } = context;
  let stopRequested = false;
  let started: StartedComponent | undefined;
  const stopAndExit = (): void => {
    const stopping = started === undefined ? Promise.resolve() : started.stop();
    stopping.then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  const requestStop = (): void => {
    if (stopRequested) return;
    stopRequested = true;
    log.info('stopping');
    // Whatever is under way (a stop, or a start giving up), the process is gone before the launcher's SIGKILL.
    setTimeout(() => {
      log.error({ timeoutMs: COMPONENT_STOP_TIMEOUT_MS }, 'stop took too long; exiting');
      process.exit(1);
    }, COMPONENT_STOP_TIMEOUT_MS).unref();
    // A start in progress notices `stopping()` and fails; it is stopped from there.
    if (started !== undefined) stopAndExit();
  };
  // The system clock's timers do not hold the process open: this does, until it exits.
  setInterval(() => undefined, 1 << 30);
  process.on('SIGTERM', requestStop);
  process.on('SIGINT', requestStop);
  // Losing the launcher's IPC channel means the launcher is gone: stop rather than linger.
  process.on('disconnect', requestStop);
  start(context).then(
    (running) => {
      started = running;
      if (stopRequested) {
        stopAndExit();
        return;
      }
      log.info('component ready');
      process.send?.({ type: 'kplane.ready' });
    },
    (error: unknown) => {
      if (stopRequested) {
        log.info({ reason: error instanceof Error ? error.message : String(error) }, 'start abandoned: stopping');
        process.exit(0);
      }
      log.fatal({ err: error }, 'component failed to start');
      process.exit(1);
    },
  );
}
