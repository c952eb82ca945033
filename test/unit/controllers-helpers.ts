// Helpers for the controller tests: controllers running against the real API pipeline over an
// in-process LocalStore, a stand-in node agent (binds pods, marks them Running/Ready, removes terminating
// pods after a delay, as a kubelet would), a transport that delays watch events (a slow watch), and
// object builders.

import { silentLogger, systemClock, type Clock } from '../../src/actors/index.js';
import { Prng } from '../../src/actors/random.js';
import { ApiClient, LocalApiTransport, metaOf, NODES, PODS, type ApiCall, type ApiAnswer, type ApiTransport, type KubeObject, type WatchStream, type WireWatchEvent } from '../../src/client/index.js';
import { ControllerRunner } from '../../src/controllers/machinery/controller-runner.js';
import { SharedInformerFactory } from '../../src/controllers/machinery/informer-factory.js';
import type { Controller } from '../../src/controllers/machinery/reconcile.js';
import { isBeingDeleted, isPodReady, podNodeName, timestampOf } from '../../src/controllers/machinery/objects.js';
import { ADMIN, testApi, type TestApi } from './api-helpers.js';

export { ADMIN, testApi, type TestApi };

export function adminClient(api: TestApi): ApiClient {
  return new ApiClient(new LocalApiTransport(api.handler, ADMIN));
}

export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface RunningControllers {
  readonly factory: SharedInformerFactory;
  readonly runners: ControllerRunner[];
  stop(): void;
}

export async function runControllers(client: ApiClient, controllers: readonly Controller[], clock: Clock = systemClock): Promise<RunningControllers> {
  const log = silentLogger();
  const factory = new SharedInformerFactory(client, { clock, log });
  const runners = controllers.map((controller) => new ControllerRunner(controller, factory, { clock, log }));
  await Promise.all(runners.map((runner) => runner.start()));
  return {
    factory,
    runners,
    stop() {
      for (const runner of runners) runner.stop();
      factory.stop();
    },
  };
}

/** A transport whose watch events on paths containing `slowPath` arrive `delayMs` late (in order): a slow watch. */
export class SlowWatchTransport implements ApiTransport {
  constructor(
    private readonly inner: ApiTransport,
    private readonly delayMs: number,
    private readonly slowPath = '/pods',
  ) {}

  call(request: ApiCall): Promise<ApiAnswer> {
    return this.inner.call(request);
  }

  watch(request: ApiCall, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream> {
    if (!request.path.includes(this.slowPath)) return this.inner.watch(request, onEvent);
    return this.inner.watch(request, (event) => setTimeout(() => onEvent(event), this.delayMs));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export function podTemplate(labels: Record<string, string>, image = 'nginx:1'): KubeObject {
  return { metadata: { labels }, spec: { containers: [{ name: 'c', image }] } };
}

export function replicaSet(name: string, replicas: number, labels: Record<string, string>): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name }, spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels) } };
}

export function deployment(name: string, replicas: number, labels: Record<string, string>, strategy: KubeObject = {}, image = 'nginx:1'): KubeObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels, image), ...(Object.keys(strategy).length > 0 ? { strategy } : {}) } };
}

export function readyStatus(nowMs: number): KubeObject {
  const at = timestampOf(nowMs);
  return { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: at }], containerStatuses: [{ name: 'c', ready: true, restartCount: 0 }] };
}

export async function markReady(client: ApiClient, namespace: string, name: string): Promise<void> {
  await client.patch(PODS, namespace, name, { status: readyStatus(Date.now()) }, 'merge', 'status');
}

/**
 * A stand-in node agent for one node: binds new pods to it, marks them Running and Ready after a delay
 * drawn from the seed, and removes pods marked for deletion after another delay (as a kubelet would
 * after stopping their containers). Errors from races (a pod gone meanwhile) are ignored.
 */
export class FakeNodeAgent {
  private readonly random: Prng;
  private readonly handled = new Set<string>();
  private stream: WatchStream | undefined;
  private stopped = false;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly client: ApiClient,
    private readonly node: string,
    seed: number,
    private readonly maxDelayMs = 20,
    /** Pods it binds but never marks ready (a container that never passes its probe). */
    private readonly neverReady: (pod: KubeObject) => boolean = () => false,
  ) {
    this.random = new Prng(seed);
  }

  async start(): Promise<void> {
    await this.client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: this.node } }).catch(() => undefined);
    this.stream = await this.client.watch(PODS, {}, (event) => {
      if (event.type !== 'ADDED' && event.type !== 'MODIFIED') return;
      this.onPod(event.object as KubeObject);
    });
  }

  stop(): void {
    this.stopped = true;
    this.stream?.stop();
  }

  private onPod(pod: KubeObject): void {
    const meta = metaOf(pod);
    const namespace = meta.namespace ?? 'default';
    const name = meta.name ?? '';
    const id = `${meta.uid ?? ''}`;
    if (isBeingDeleted(pod)) {
      if (this.handled.has(`gone ${id}`)) return;
      this.handled.add(`gone ${id}`);
      this.later(() => this.client.delete(PODS, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid: id } }));
      return;
    }
    if (podNodeName(pod) === undefined && !this.handled.has(`bind ${id}`)) {
      this.handled.add(`bind ${id}`);
      this.later(async () => {
        await this.client.bind(namespace, name, this.node);
        await sleep(this.random.int(this.maxDelayMs + 1));
        if (!this.stopped && !this.neverReady(pod)) await this.client.patch(PODS, namespace, name, { status: readyStatus(Date.now()) }, 'merge', 'status');
      });
    }
  }

  private later(action: () => Promise<unknown>): void {
    const run = sleep(this.random.int(this.maxDelayMs + 1))
      .then(() => (this.stopped ? undefined : action()))
      .catch(() => undefined);
    this.pending.add(run);
    void run.finally(() => this.pending.delete(run));
  }
}

/**
 * Stands in for every node agent at once by polling: marks pods Running and Ready (after `readyDelayMs`
 * from when it first saw them) and removes terminating pods.
 */
export function agentLoop(client: ApiClient, namespace = 'default', readyDelayMs = 0): { stop(): void } {
  let running = true;
  const firstSeen = new Map<string, number>();
  void (async () => {
    while (running) {
      for (const pod of (await client.list(PODS, { namespace }).catch(() => ({ items: [] as KubeObject[] }))).items) {
        const meta = metaOf(pod);
        const name = meta.name ?? '';
        const seen = firstSeen.get(meta.uid ?? '') ?? Date.now();
        firstSeen.set(meta.uid ?? '', seen);
        if (isBeingDeleted(pod)) await client.delete(PODS, namespace, name, { gracePeriodSeconds: 0 }).catch(() => undefined);
        else if (!isPodReady(pod) && Date.now() - seen >= readyDelayMs) await client.patch(PODS, namespace, name, { status: readyStatus(Date.now()) }, 'merge', 'status').catch(() => undefined);
      }
      await sleep(10);
    }
  })();
  return { stop: () => (running = false) };
}
