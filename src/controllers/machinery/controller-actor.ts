// One controller as an actor: its start builds the controller and its runner (handlers on the shared
// informers, a work queue, workers) and waits for the informers' first lists; its stop removes the
// handlers and drops the queue. A restart by the supervisor builds everything afresh (new expectations
// and caches come from the still-running shared informers).

import type { Behavior } from '../../actors/index.js';
import { ControllerRunner } from './controller-runner.js';
import type { SharedInformerFactory } from './informer-factory.js';
import type { RateLimitOptions } from './rate-limit.js';
import type { Controller } from './reconcile.js';

/** Controllers take no messages today; the type leaves room for "resync" and the like. */
export type ControllerMessage = { readonly type: 'controller.resync' };

export interface ControllerActorOptions extends RateLimitOptions {
  readonly workers?: number;
}

export function controllerActor(makeController: () => Controller, factory: SharedInformerFactory, options: ControllerActorOptions = {}): Behavior<ControllerMessage, ControllerRunner> {
  return {
    async start(ctx) {
      const runner = new ControllerRunner(makeController(), factory, { ...options, clock: ctx.clock, log: ctx.log });
      await runner.start();
      return runner;
    },
    receive(_ctx, runner) {
      return runner;
    },
    stop(_ctx, runner) {
      runner.stop();
    },
  };
}
