// Runs one Controller: registers its informer handlers, starts the shared informers, waits for their
// first lists (a controller never acts on an empty cache), then hands queued keys to its workers.
// stop() removes its handlers and drops its queue; the shared informers keep running for the others.

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import type { SharedInformerFactory } from './informer-factory.js';
import type { RateLimitOptions } from './rate-limit.js';
import type { Controller } from './reconcile.js';
import { WorkQueue } from './work-queue.js';

export interface ControllerRunnerOptions extends RateLimitOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** Workers of this controller (default 5, kube-controller-manager's --concurrent-deployment-syncs and --concurrent-replicaset-syncs). */
  readonly workers?: number;
}

export const CONTROLLER_WORKERS_DEFAULT = 5;
/** How often a controller whose informers have not synced says so. */
export const SYNC_WARNING_MS = 30_000;

export class ControllerRunner {
  readonly queue: WorkQueue;
  private removeHandlers: (() => void) | undefined;
  private stopped = false;
  private syncWarning: TimerHandle | undefined;

  constructor(
    readonly controller: Controller,
    private readonly factory: SharedInformerFactory,
    private readonly options: ControllerRunnerOptions,
  ) {
    this.queue = new WorkQueue({ ...options, workers: options.workers ?? CONTROLLER_WORKERS_DEFAULT, log: options.log.child({ controller: controller.name }) });
  }

  async start(): Promise<void> {
    this.removeHandlers = this.controller.setup(this.factory, (key) => this.queue.add(key));
    this.factory.start();
    // An informer that cannot list (no permission, a kind the server lacks) would stall us silently.
    const warn = (): void => {
      this.options.log.warn({ controller: this.controller.name }, 'controller still waiting for its informers to sync');
      this.syncWarning = this.options.clock.setTimer(SYNC_WARNING_MS, warn);
    };
    this.syncWarning = this.options.clock.setTimer(SYNC_WARNING_MS, warn);
    await this.factory.whenSynced();
    this.options.clock.cancelTimer(this.syncWarning);
    if (this.stopped) return;
    this.queue.run((key) => this.controller.reconcile(key));
  }

  stop(): void {
    this.stopped = true;
    if (this.syncWarning !== undefined) this.options.clock.cancelTimer(this.syncWarning);
    this.removeHandlers?.();
    this.removeHandlers = undefined;
    this.queue.shutdown();
  }
}
