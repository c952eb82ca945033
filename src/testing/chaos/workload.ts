// The chaos scenarios' workload: N clients, each a @kubernetes/client-node CoreV1Api, doing create,
// get, replace-with-resourceVersion and delete on a small set of ConfigMaps through the real API
// server, and recording every call as a linearizability History (src/testing/linearizability):
//   get → get (404: null), create → cas(null → v) (409: not ok), replace with the resourceVersion of
//   the client's last read of value e → cas(e → v) (409 or 404: not ok), delete → delete (404 too).
// Every written value is unique (`<client>.<sequence>`), so a resourceVersion precondition is a
// compare on the value. A call that fails without a definite answer (timeout, 5xx, connection reset)
// is recorded with no return: it may or may not have taken effect; its client then continues under
// a new client id (the checker's clients have one call in flight). A refused connection is a definite
// "not applied" and is not recorded; a failed get is not recorded either (a read changes nothing).
// The op mix and key choice come from a seeded Random; the timing is real.
import { performance } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';
import type { Random } from '../../actors/random.js';
import type { Operation, OperationInput, OperationOutput } from '../linearizability/history.js';

export const CONFIGMAP_NAMESPACE = 'default';
/** A call with no answer within this is recorded as unknown and abandoned (aborted). */
export const OPERATION_TIMEOUT_MS = 5_000;
/** Pause after a failed call, so an outage is not a busy loop. */
export const BACKOFF_AFTER_FAILURE_MS = 100;
/** Bound on the history (the checker's cost grows with it); clients stop issuing calls past it. */
export const MAX_OPERATIONS = 20_000;

export interface WorkloadOptions {
  readonly kubeConfig: k8s.KubeConfig;
  readonly clients: number;
  readonly keys: number;
  readonly random: Random;
  /** Key names are `<prefix>-<n>`. */
  readonly keyPrefix?: string;
  /** The history's time zero, a `performance.now()` reading (default: when the workload is made). */
  readonly originMs?: number;
}

export interface ErrorTally {
  count: number;
  firstAtMs: number;
  lastAtMs: number;
}

/** The key a ConfigMap's value lives in. */
const VALUE_FIELD = 'value';

export function configMapName(prefix: string, index: number): string {
  return `${prefix}-${index}`;
}

type CallOutcome =
  | { readonly kind: 'answered'; readonly output: OperationOutput; readonly resourceVersion?: string | undefined }
  | { readonly kind: 'not-applied'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string };

interface ErrorLike {
  readonly code?: unknown;
  readonly name?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
}

/** True when the connection was refused: the request never reached a server. */
function connectionRefused(error: unknown): boolean {
  for (let current = error as ErrorLike | undefined, depth = 0; current !== undefined && current !== null && depth < 4; current = current.cause as ErrorLike | undefined, depth++) {
    if (current.code === 'ECONNREFUSED') return true;
    if (typeof current.message === 'string' && current.message.includes('ECONNREFUSED')) return true;
  }
  return false;
}

function describeError(error: unknown): string {
  if (error instanceof k8s.ApiException) return `HTTP ${error.code}`;
  const like = error as ErrorLike;
  if (like.name === 'AbortError') return 'timeout';
  const code = typeof like.code === 'string' ? like.code : undefined;
  const message = typeof like.message === 'string' ? like.message : String(error);
  return code ?? message.slice(0, 80);
}

export class ConfigMapWorkload {
  readonly history: Operation[] = [];
  readonly errors = new Map<string, ErrorTally>();
  /** Acknowledged calls per whole second since `startedAtMs`. */
  readonly acknowledgedPerSecond: number[] = [];
  readonly startedAtMs: number;
  private nextClientId: number;
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly prefix: string;
  private readonly api: k8s.CoreV1Api;

  constructor(private readonly options: WorkloadOptions) {
    this.startedAtMs = options.originMs ?? performance.now();
    this.prefix = options.keyPrefix ?? 'chaos';
    this.nextClientId = options.clients;
    this.api = options.kubeConfig.makeApiClient(k8s.CoreV1Api);
  }

  /** Milliseconds on the history's clock. */
  now(): number {
    return performance.now() - this.startedAtMs;
  }

  keyNames(): string[] {
    return Array.from({ length: this.options.keys }, (_, index) => configMapName(this.prefix, index));
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.options.clients }, (_, client) => this.runClient(client, this.options.random.fork()));
  }

  /** Stops issuing calls and waits for the ones in flight (each ends within OPERATION_TIMEOUT_MS). */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Reads every key once more after the faults (a client of its own); returns key → value (null: absent). */
  async finalReads(attempts: number): Promise<Map<string, string | null>> {
    const values = new Map<string, string | null>();
    const clientId = this.nextClientId++;
    for (const name of this.keyNames()) {
      for (let attempt = 0; attempt < attempts && !values.has(name); attempt++) {
        const read = await this.call(clientId, { kind: 'get', key: name }, undefined);
        if (read.kind === 'answered' && read.output.kind === 'get') values.set(name, read.output.value);
        else await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    return values;
  }

  private tallyError(reason: string): void {
    const at = this.now();
    const tally = this.errors.get(reason);
    if (tally === undefined) this.errors.set(reason, { count: 1, firstAtMs: at, lastAtMs: at });
    else {
      tally.count += 1;
      tally.lastAtMs = at;
    }
  }

  private async runClient(client: number, random: Random): Promise<void> {
    let clientId = client;
    let sequence = 0;
    /** What this client last read of each key: the value and its resourceVersion. */
    const lastRead = new Map<string, { value: string; resourceVersion: string }>();
    while (this.running && this.history.length < MAX_OPERATIONS) {
      const key = configMapName(this.prefix, random.int(this.options.keys));
      const roll = random.next();
      let input: OperationInput;
      let resourceVersion: string | undefined;
      const seen = lastRead.get(key);
      if (roll < 0.4) input = { kind: 'get', key };
      else if (roll < 0.85) {
        const value = `${client}.${sequence++}`;
        if (seen === undefined) input = { kind: 'cas', key, expected: null, value };
        else {
          input = { kind: 'cas', key, expected: seen.value, value };
          resourceVersion = seen.resourceVersion;
        }
      } else input = { kind: 'delete', key };
      const outcome = await this.call(clientId, input, resourceVersion);
      if (outcome.kind === 'answered') {
        if (outcome.output.kind === 'get') {
          if (outcome.output.value === null || outcome.resourceVersion === undefined) lastRead.delete(key);
          else lastRead.set(key, { value: outcome.output.value, resourceVersion: outcome.resourceVersion });
        } else if (input.kind === 'cas' && outcome.output.kind === 'cas' && outcome.output.ok && outcome.resourceVersion !== undefined) {
          lastRead.set(key, { value: input.value, resourceVersion: outcome.resourceVersion });
        } else lastRead.delete(key);
        const second = Math.floor(this.now() / 1000);
        while (this.acknowledgedPerSecond.length <= second) this.acknowledgedPerSecond.push(0);
        this.acknowledgedPerSecond[second] = (this.acknowledgedPerSecond[second] ?? 0) + 1;
      } else {
        this.tallyError(outcome.reason);
        lastRead.delete(key);
        if (outcome.kind === 'unknown') clientId = this.nextClientId++;
        await new Promise((resolve) => setTimeout(resolve, BACKOFF_AFTER_FAILURE_MS));
      }
    }
  }

  /** One API call, recorded in the history as its outcome says. */
  private async call(clientId: number, input: OperationInput, resourceVersion: string | undefined): Promise<CallOutcome> {
    const invokedAtMs = this.now();
    const outcome = await this.send(input, resourceVersion);
    if (outcome.kind === 'answered') {
      this.history.push({ clientId, input, invokedAtMs, returnedAtMs: this.now(), output: outcome.output });
    } else if (outcome.kind === 'unknown' && input.kind !== 'get') {
      this.history.push({ clientId, input, invokedAtMs });
    }
    return outcome;
  }

  private async send(input: OperationInput, resourceVersion: string | undefined): Promise<CallOutcome> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), OPERATION_TIMEOUT_MS);
    const options = {
      middleware: [
        {
          pre: (context: k8s.RequestContext) => {
            context.setSignal(abort.signal);
            return new k8s.Observable(Promise.resolve(context));
          },
          post: (context: k8s.ResponseContext) => new k8s.Observable(Promise.resolve(context)),
        },
      ],
      middlewareMergeStrategy: 'append' as const,
    };
    const namespace = CONFIGMAP_NAMESPACE;
    try {
      switch (input.kind) {
        case 'get': {
          const found = await this.api.readNamespacedConfigMap({ namespace, name: input.key }, options);
          return { kind: 'answered', output: { kind: 'get', value: found.data?.[VALUE_FIELD] ?? null }, resourceVersion: found.metadata?.resourceVersion };
        }
        case 'cas': {
          const body: k8s.V1ConfigMap = { metadata: { name: input.key, ...(resourceVersion === undefined ? {} : { resourceVersion }) }, data: { [VALUE_FIELD]: input.value } };
          const written = input.expected === null
            ? await this.api.createNamespacedConfigMap({ namespace, body }, options)
            : await this.api.replaceNamespacedConfigMap({ namespace, name: input.key, body }, options);
          return { kind: 'answered', output: { kind: 'cas', ok: true }, resourceVersion: written.metadata?.resourceVersion };
        }
        case 'delete':
          await this.api.deleteNamespacedConfigMap({ namespace, name: input.key }, options);
          return { kind: 'answered', output: { kind: 'delete' } };
        case 'put':
          throw new Error('the workload never issues a blind put');
      }
    } catch (error) {
      if (error instanceof k8s.ApiException) {
        if (error.code === 404) {
          if (input.kind === 'get') return { kind: 'answered', output: { kind: 'get', value: null } };
          if (input.kind === 'delete') return { kind: 'answered', output: { kind: 'delete' } };
          if (input.kind === 'cas') return { kind: 'answered', output: { kind: 'cas', ok: false } };
        }
        if (error.code === 409 && input.kind === 'cas') return { kind: 'answered', output: { kind: 'cas', ok: false } };
      }
      if (connectionRefused(error)) return { kind: 'not-applied', reason: 'ECONNREFUSED' };
      return { kind: 'unknown', reason: describeError(error) };
    } finally {
      clearTimeout(timer);
    }
  }
}

