// The controller manager: a supervisor actor ("controller of controllers"). It campaigns for the
// controller-manager Lease; while it leads, it runs one child actor per controller (one-for-one, each
// restarted on its own), all sharing one informer factory, over an API transport fenced for this term.
// When the Lease is lost it fences the transport (no controller of this term writes again), stops the
// children and the informers, and goes back to campaigning. Several processes may run it; one leads.

import type { Logger } from 'pino';
import type { ActorContext, ActorRef, Behavior, Clock, SupervisionPolicy } from '../actors/index.js';
import { ApiClient, type ApiTransport } from '../client/index.js';
import { CronJobController } from './cronjob.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { DisruptionController } from './disruption.js';
import { GarbageCollector } from './garbage-collector.js';
import { HorizontalPodAutoscalerController } from './hpa.js';
import { JobController } from './job.js';
import { controllerActor, type ControllerActorOptions } from './machinery/controller-actor.js';
import { EventRecorder } from './machinery/event-recorder.js';
import { FencedTransport } from './machinery/fenced-transport.js';
import { SharedInformerFactory } from './machinery/informer-factory.js';
import { LeaderElector, leaderElectionConfig, type LeaderElectionConfig } from './machinery/leader-election.js';
import type { Controller } from './machinery/reconcile.js';
import { NamespaceController } from './namespace.js';
import { NodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle.js';
import { PodGarbageCollector, type PodGcOptions } from './pod-gc.js';
import { ReplicaSetController } from './replicaset.js';
import { ResourceQuotaController } from './resource-quota.js';
import { ServiceAccountController } from './serviceaccount.js';
import { StatefulSetController } from './statefulset.js';

export const CONTROLLER_NAMES = [
  'replicaset',
  'deployment',
  'statefulset',
  'daemonset',
  'node-lifecycle',
  'garbage-collector',
  'namespace',
  'job',
  'horizontal-pod-autoscaler',
  'cronjob',
  'serviceaccount',
  'pod-gc',
  'disruption',
  'resource-quota',
] as const;
export type ControllerName = (typeof CONTROLLER_NAMES)[number];

/** How the manager supervises its controllers: one-for-one, at most 10 restarts a minute, then escalate. */
export const CONTROLLER_MANAGER_SUPERVISION: SupervisionPolicy = { strategy: 'one-for-one', maxRestarts: 10, withinMs: 60_000, backoffMinMs: 100, backoffMaxMs: 10_000 };

export interface ControllerManagerOptions {
  /** The API transport of this process (the actor transport in a cluster; LocalApiTransport in tests). */
  readonly transport: ApiTransport;
  /** Identity for the Lease (unique per process). */
  readonly identity: string;
  /** Lease settings (defaults 15 s / 10 s / 2 s in kube-system), or false to lead at once (a single manager). */
  readonly leaderElection?: Partial<Omit<LeaderElectionConfig, 'identity'>> | false;
  /** Which controllers run (default all). */
  readonly controllers?: readonly ControllerName[];
  readonly controllerOptions?: ControllerActorOptions;
  /** Grace period, default toleration and eviction rate of the node lifecycle controller. */
  readonly nodeLifecycle?: NodeLifecycleOptions;
  /** Orphan quarantine and terminated-pod threshold of the pod garbage collector. */
  readonly podGc?: PodGcOptions;
  /** Keep the Lease on stop (a crash, as tests simulate) instead of releasing it. */
  readonly keepLeaseOnStop?: boolean;
  /** Observes leadership changes (tests and metrics). */
  readonly onLeadershipChange?: (leading: boolean) => void;
}

export type ControllerManagerMessage = { readonly type: 'manager.started-leading' } | { readonly type: 'manager.stopped-leading' };

interface Term {
  readonly transport: FencedTransport;
  readonly factory: SharedInformerFactory;
  readonly children: ActorRef[];
}

interface ManagerState {
  readonly elector: LeaderElector | undefined;
  term: Term | undefined;
}

function makeController(name: ControllerName, client: ApiClient, clock: Clock, log: Logger, settings: Pick<ControllerManagerOptions, 'nodeLifecycle' | 'podGc'>): Controller {
  const events = new EventRecorder(client, `${name}-controller`, clock, log);
  const env = { client, clock, log, events };
  switch (name) {
    case 'replicaset':
      return new ReplicaSetController(env);
    case 'deployment':
      return new DeploymentController(env);
    case 'statefulset':
      return new StatefulSetController(env);
    case 'daemonset':
      return new DaemonSetController(env);
    case 'node-lifecycle':
      return new NodeLifecycleController({ ...env, ...settings.nodeLifecycle });
    case 'garbage-collector':
      return new GarbageCollector(env);
    case 'namespace':
      return new NamespaceController(env);
    case 'job':
      return new JobController(env);
    case 'horizontal-pod-autoscaler':
      return new HorizontalPodAutoscalerController(env);
    case 'cronjob':
      return new CronJobController(env);
    case 'serviceaccount':
      return new ServiceAccountController(env);
    case 'pod-gc':
      return new PodGarbageCollector({ ...env, ...settings.podGc });
    case 'disruption':
      return new DisruptionController(env);
    case 'resource-quota':
      return new ResourceQuotaController(env);
  }
}

function beginTerm(ctx: ActorContext<ControllerManagerMessage>, options: ControllerManagerOptions): Term {
  const transport = new FencedTransport(options.transport);
  const client = new ApiClient(transport);
  const factory = new SharedInformerFactory(client, { clock: ctx.clock, log: ctx.log });
  const children = (options.controllers ?? CONTROLLER_NAMES).map((name) =>
    ctx.spawn(
      controllerActor(() => makeController(name, client, ctx.clock, ctx.log.child({ controller: name }), options), factory, options.controllerOptions),
      { name },
    ),
  );
  return { transport, factory, children };
}

async function endTerm(ctx: ActorContext<ControllerManagerMessage>, term: Term): Promise<void> {
  term.transport.fence(); // first: nothing of this term writes again
  await Promise.all(term.children.map((child) => ctx.stop(child)));
  term.factory.stop();
}

export function controllerManager(options: ControllerManagerOptions): Behavior<ControllerManagerMessage, ManagerState> {
  return {
    start(ctx) {
      if (options.leaderElection === false) {
        options.onLeadershipChange?.(true);
        return { elector: undefined, term: beginTerm(ctx, options) };
      }
      const config = leaderElectionConfig(options.identity, options.leaderElection ?? {});
      const elector = new LeaderElector(new ApiClient(options.transport), ctx.clock, ctx.log, config, {
        onStartedLeading: () => ctx.tell(ctx.self, { type: 'manager.started-leading' }),
        onStoppedLeading: () => {
          // Fence at once, before the message is handled: the loss must stop writes now.
          state.term?.transport.fence();
          options.onLeadershipChange?.(false);
          ctx.tell(ctx.self, { type: 'manager.stopped-leading' });
        },
      });
      const state: ManagerState = { elector, term: undefined };
      elector.start();
      return state;
    },
    async receive(ctx, state, message) {
      if (message.type === 'manager.started-leading') {
        if (state.term === undefined && state.elector?.isLeader() === true) {
          state.term = beginTerm(ctx, options);
          options.onLeadershipChange?.(true);
        }
      } else if (message.type === 'manager.stopped-leading') {
        const term = state.term;
        state.term = undefined;
        if (term !== undefined) await endTerm(ctx, term);
      }
      return state;
    },
    async stop(ctx, state) {
      const term = state.term;
      state.term = undefined;
      if (term !== undefined) await endTerm(ctx, term);
      await state.elector?.stop(options.keepLeaseOnStop !== true);
    },
  };
}
