// The controller manager's public surface: the supervisor actor, the controllers, and the machinery
// they share (for other components that want informers, a work queue or leader election).
export { CONTROLLER_MANAGER_SUPERVISION, CONTROLLER_NAMES, controllerManager, type ControllerManagerMessage, type ControllerManagerOptions, type ControllerName } from './manager.js';
export { CronJobController } from './cronjob.js';
export { DaemonSetController } from './daemonset.js';
export { DeploymentController } from './deployment.js';
export { DisruptionController } from './disruption.js';
export { GarbageCollector } from './garbage-collector.js';
export { HorizontalPodAutoscalerController } from './hpa.js';
export { JobController } from './job.js';
export { NamespaceController } from './namespace.js';
export { NodeLifecycleController, type NodeLifecycleOptions } from './node-lifecycle.js';
export { ReplicaSetController } from './replicaset.js';
export { ResourceQuotaController } from './resource-quota.js';
export { StatefulSetController } from './statefulset.js';
export { DEFAULT_SERVICE_ACCOUNT, ServiceAccountController } from './serviceaccount.js';
export { controllerActor } from './machinery/controller-actor.js';
export { ControllerRunner } from './machinery/controller-runner.js';
export { EventRecorder } from './machinery/event-recorder.js';
export { Expectations } from './machinery/expectations.js';
export { FencedError, FencedTransport } from './machinery/fenced-transport.js';
export { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
export { LEADER_ELECTION_DEFAULTS, LeaderElector, leaderElectionConfig, type LeaderElectionConfig } from './machinery/leader-election.js';
export type { Controller, ReconcileResult } from './machinery/reconcile.js';
export { WorkQueue } from './machinery/work-queue.js';
