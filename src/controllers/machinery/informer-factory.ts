// The shared informer factory: one Informer (one list-then-watch) per resource type per process, shared
// by every controller in it, each feeding an indexed cache (by namespace, by owner uid, by node name,
// and by label selector match). Controllers register handlers they can remove again, so a controller
// actor that restarts does not leave its old handlers behind.

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import { Informer, type ApiClient, type InformerHandlers, type KubeObject, type ResourceType } from '../../client/index.js';
import { selectorMatches, type LabelSelector } from './labels.js';
import { keyOf, metaOf, namespaceOf, podNodeName } from './objects.js';

export interface InformerFactoryOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** Watch timeout asked of the server (the informer re-watches after it). */
  readonly watchTimeoutSeconds?: number;
  /**
   * Every this often each cached object is handed to the handlers again as an update (previous ===
   * object), so a controller that missed or mishandled an event converges anyway. 0 turns it off.
   */
  readonly resyncPeriodMs?: number;
}

export const RESYNC_PERIOD_MS_DEFAULT = 5 * 60_000;

export interface HandlerRegistration {
  remove(): void;
}

/** key → object, grouped by an index value. */
class Index {
  private readonly buckets = new Map<string, Map<string, KubeObject>>();

  add(value: string, key: string, object: KubeObject): void {
    let bucket = this.buckets.get(value);
    if (bucket === undefined) this.buckets.set(value, (bucket = new Map()));
    bucket.set(key, object);
  }

  delete(value: string, key: string): void {
    const bucket = this.buckets.get(value);
    if (bucket === undefined) return;
    bucket.delete(key);
    if (bucket.size === 0) this.buckets.delete(value);
  }

  get(value: string): KubeObject[] {
    return [...(this.buckets.get(value)?.values() ?? [])];
  }
}

function hasController(object: KubeObject): boolean {
  return (metaOf(object).ownerReferences ?? []).some((reference) => reference.controller === true);
}

function ownerUids(object: KubeObject): string[] {
  return (metaOf(object).ownerReferences ?? []).map((reference) => reference.uid);
}

/** One resource type's informer with its indexes. */
export class SharedInformer {
  private readonly byNamespace = new Index();
  private readonly byOwner = new Index();
  private readonly byNode = new Index();
  /** Objects without a controller owner reference, by namespace: what controllers may adopt. */
  private readonly orphansByNamespace = new Index();
  private readonly registrations = new Set<InformerHandlers>();

  constructor(
    readonly type: ResourceType,
    private readonly informer: Informer,
    private readonly log: Logger,
  ) {
    informer.addHandlers({
      onAdd: (object) => {
        this.index(object);
        this.dispatch((handlers) => handlers.onAdd?.(object));
      },
      onUpdate: (previous, object) => {
        this.unindex(previous);
        this.index(object);
        this.dispatch((handlers) => handlers.onUpdate?.(previous, object));
      },
      onDelete: (object) => {
        this.unindex(object);
        this.dispatch((handlers) => handlers.onDelete?.(object));
      },
    });
  }

  /** One handler's bug must not starve the others (or the informer) of events. */
  private dispatch(deliver: (handlers: InformerHandlers) => void): void {
    for (const handlers of [...this.registrations]) {
      try {
        deliver(handlers);
      } catch (error) {
        this.log.error({ err: error, resource: this.type.resource }, 'informer handler threw');
      }
    }
  }

  addHandlers(handlers: InformerHandlers): HandlerRegistration {
    this.registrations.add(handlers);
    return { remove: () => this.registrations.delete(handlers) };
  }

  hasSynced(): boolean {
    return this.informer.hasSynced();
  }

  whenSynced(): Promise<void> {
    return this.informer.whenSynced();
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.informer.get(namespace, name);
  }

  list(): KubeObject[] {
    return this.informer.list();
  }

  inNamespace(namespace: string): KubeObject[] {
    return this.byNamespace.get(namespace);
  }

  ownedBy(uid: string): KubeObject[] {
    return this.byOwner.get(uid);
  }

  onNode(node: string): KubeObject[] {
    return this.byNode.get(node);
  }

  /** Objects in `namespace` with no controller owner reference. */
  orphansIn(namespace: string): KubeObject[] {
    return this.orphansByNamespace.get(namespace);
  }

  /** Objects in `namespace` whose labels the selector matches. */
  matching(namespace: string, selector: LabelSelector): KubeObject[] {
    return this.inNamespace(namespace).filter((object) => selectorMatches(selector, metaOf(object).labels));
  }

  start(): void {
    this.informer.start();
  }

  stop(): void {
    this.informer.stop();
  }

  /** Hands every cached object to the handlers again as an unchanged update. */
  resync(): void {
    if (!this.informer.hasSynced()) return;
    for (const object of this.informer.list()) this.dispatch((handlers) => handlers.onUpdate?.(object, object));
  }

  private index(object: KubeObject): void {
    const key = keyOf(object);
    this.byNamespace.add(namespaceOf(object), key, object);
    for (const uid of ownerUids(object)) this.byOwner.add(uid, key, object);
    if (!hasController(object)) this.orphansByNamespace.add(namespaceOf(object), key, object);
    const node = this.type.resource === 'pods' ? podNodeName(object) : undefined;
    if (node !== undefined) this.byNode.add(node, key, object);
  }

  private unindex(object: KubeObject): void {
    const key = keyOf(object);
    this.byNamespace.delete(namespaceOf(object), key);
    for (const uid of ownerUids(object)) this.byOwner.delete(uid, key);
    if (!hasController(object)) this.orphansByNamespace.delete(namespaceOf(object), key);
    const node = this.type.resource === 'pods' ? podNodeName(object) : undefined;
    if (node !== undefined) this.byNode.delete(node, key);
  }
}

export class SharedInformerFactory {
  private readonly informers = new Map<string, SharedInformer>();
  private started = false;
  private resyncTimer: TimerHandle | undefined;

  constructor(
    readonly client: ApiClient,
    private readonly options: InformerFactoryOptions,
  ) {}

  /** The process's informer for `type`, made on first use (and started at once if the factory runs). */
  informerFor(type: ResourceType): SharedInformer {
    const id = `${type.group}/${type.version}/${type.resource}`;
    let shared = this.informers.get(id);
    if (shared === undefined) {
      const informer = new Informer(this.client, type, {
        clock: this.options.clock,
        log: this.options.log,
        ...(this.options.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: this.options.watchTimeoutSeconds } : {}),
      });
      shared = new SharedInformer(type, informer, this.options.log);
      this.informers.set(id, shared);
      if (this.started) shared.start();
    }
    return shared;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const shared of this.informers.values()) shared.start();
    this.scheduleResync();
  }

  private scheduleResync(): void {
    const periodMs = this.options.resyncPeriodMs ?? RESYNC_PERIOD_MS_DEFAULT;
    if (periodMs <= 0 || !this.started) return;
    this.resyncTimer = this.options.clock.setTimer(periodMs, () => {
      for (const shared of this.informers.values()) shared.resync();
      this.scheduleResync();
    });
  }

  /** Resolves once every informer made so far has its first list. */
  async whenSynced(): Promise<void> {
    await Promise.all([...this.informers.values()].map((shared) => shared.whenSynced()));
  }

  stop(): void {
    if (this.resyncTimer !== undefined) this.options.clock.cancelTimer(this.resyncTimer);
    this.resyncTimer = undefined;
    for (const shared of this.informers.values()) shared.stop();
    this.informers.clear();
    this.started = false;
  }
}
