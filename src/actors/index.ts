// The actor runtime's public surface. Everything other layers need comes from here.
//
// Deviations from docs briefs/actors-api.md (kept small, shape unchanged):
//   - MessageProtocol is { types: string[]; validators?: { [type]: (msg) => boolean } } (protocol.ts)
//     rather than a bare map; an absent protocol accepts no remote message types (ask replies only).
//   - ActorSystem also has unwatch(watcher, target); metrics is ActorSystemMetrics (system-types.ts).
//   - SystemOptions.newCorrelationId lets the simulator make ask ids (temp paths) from its seed;
//     the default is hyperid.
//   - ctx.stop(ctx.self) is a normal exit (OTP): a permanent actor is restarted, a transient or
//     temporary one stops for good. system.stop(ref) / ctx.stop(child) always stop for good.
//   - ChildSpec built with childSpec(behavior, options) for type-safe specs.
export type { ActorRef } from './ref.js';
export { formatRef, isActorRef, makeRef, refKey, sameActor, TEMP_PATH_PREFIX, USER_PATH } from './ref.js';
export type {
  ActorContext,
  Behavior,
  RestartType,
  Signal,
  SpawnOptions,
  SupervisionPolicy,
  SupervisionStrategy,
  TerminationReason,
} from './behavior.js';
export { isSignal, MAILBOX_CAPACITY_DEFAULT, STOP_TIMEOUT_MS_DEFAULT, SUPERVISION_DEFAULT, TERMINATED_SIGNAL_TYPE } from './behavior.js';
export type { ActorSystem, ActorSystemEnv, ActorSystemMetrics, SystemOptions } from './system-types.js';
export { createActorSystem, DEAD_LETTER_LOG_INTERVAL_MS, DISPATCH_BATCH_DEFAULT, ROOT_FAILURE_EXIT_CODE, whenStarted } from './system.js';
export { childSpec, supervisor, type ChildSpec } from './supervisor.js';
export { ProtocolChecker, type MessageProtocol, type MessageValidator } from './protocol.js';
export { decodeFrame, encodeFrame, FRAME_VERSION, MAX_FRAME_BYTES, type Frame } from './codec.js';
export { HEARTBEAT_INTERVAL_MS_DEFAULT, HEARTBEAT_TIMEOUT_MS_DEFAULT } from './remoting.js';
export * from './errors.js';
export { createLogger, silentLogger, type LoggerOptions } from './logger.js';
export type { Clock, TimerHandle } from './clock.js';
export { systemClock } from './clock.js';
export type { Random } from './random.js';
export { Prng } from './random.js';
export type { NodeAddress, NodeId, PeerCertificateSubject, Transport, TransportEvents } from './transport.js';
export { remoteSenderOf, type RemoteSender } from './sender.js';
// The deterministic simulated mode: SimWorld, SimNetwork, SimTransport, SimTrace (docs/simulation.md).
export * from './sim/index.js';
